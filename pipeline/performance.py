"""Figures over chunk-task metric rows: totals, rates and percentiles, overall and per variant."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def summarize(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Totals, cache hit rate, task and per-transaction milliseconds (avg/P95/P99), throughput while busy."""
    transactions = sum(r["rows"] for r in rows)
    task_ms = np.array([r["total_ms"] for r in rows], dtype=float)
    # A transaction waits for its chunk: queue wait plus the chunk's run, for every row of it.
    latency_ms = np.array([(r["queue_wait_ms"] or 0.0) + r["total_ms"] for r in rows], dtype=float)
    weights = np.array([r["rows"] for r in rows], dtype=float)
    busy_seconds = _busy_seconds(rows)
    return {
        "tasks": len(rows),
        "transactions": transactions,
        "memory_hits": sum(r.get("memory_hits") or 0 for r in rows),
        "cache_hits": sum(r["cache_hits"] for r in rows),
        "rule_hits": sum(r["rule_hits"] for r in rows),
        "model_hits": sum(r["model_hits"] for r in rows),
        "cache_errors": sum(r["cache_errors"] or 0 for r in rows),
        "cache_hit_rate": _ratio(sum(r["cache_hits"] for r in rows), transactions),
        "task_ms": _stats(task_ms),
        "transaction_ms": _stats(latency_ms, weights),
        "throughput_tps": round(transactions / busy_seconds, 1) if busy_seconds else 0.0,
    }


def error_rate(tasks: int, failed: int) -> float | None:
    """Failed task runs over all task runs (committed chunks plus failures); None without any run."""
    runs = tasks + failed
    return failed / runs if runs else None


def by_variant(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``summarize`` for each (variant, model version) that served chunks."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["variant"] or "A", row["model_version"] or "none"), []).append(row)
    return [{"variant": variant, "model_version": version, **summarize(group)}
            for (variant, version), group in sorted(groups.items())]


def _busy_seconds(rows: Sequence[dict[str, Any]]) -> float:
    """Wall time during which at least one chunk was running: idle gaps between jobs do not count.

    A chunk ran for ``total_ms`` up to about ``created_at`` (its write transaction's start).
    """
    if not rows:
        return 0.0
    ends = np.array([r["created_at"].timestamp() for r in rows])
    starts = ends - np.array([r["total_ms"] for r in rows], dtype=float) / 1000.0
    order = np.argsort(starts)
    busy, current_start, current_end = 0.0, starts[order[0]], ends[order[0]]
    for start, end in zip(starts[order[1:]], ends[order[1:]], strict=True):
        if start > current_end:  # a gap: close the busy stretch
            busy += current_end - current_start
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    return float(busy + current_end - current_start)


def _stats(values: np.ndarray, weights: np.ndarray | None = None) -> dict[str, float | None]:
    if values.size == 0:
        return {"avg": None, "p95": None, "p99": None}
    if weights is None:
        weights = np.ones_like(values)
    order = np.argsort(values)
    ordered, cumulative = values[order], np.cumsum(weights[order]) / weights.sum()

    def quantile(q: float) -> float:
        return round(float(ordered[min(int(np.searchsorted(cumulative, q)), values.size - 1)]), 3)

    return {"avg": round(float(np.average(values, weights=weights)), 3), "p95": quantile(0.95),
            "p99": quantile(0.99)}


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None
