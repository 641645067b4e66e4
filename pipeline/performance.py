"""Figures over chunk-task metric rows: totals, rates and percentiles, overall and per variant.

Every percentile the project reports (the admin API, the ``/metrics`` gauges, the in-process
alerts, ``manna status``, the rollout controller and ``manna bench``) comes from ``percentile``
below: weighted nearest-rank. Prometheus' own ``histogram_quantile`` interpolates inside a
bucket instead; ``pipeline/alerts.py`` says how the two relate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

# Throughput over less work than this is reported as None ("n/a"): a burst of a few parallel
# chunks says how fast one small job went, not what the pipeline sustains (two 1,000-row chunks
# of 160 ms read as 12,500 tx/s). Five seconds is over ten chunk latencies.
MIN_THROUGHPUT_SECONDS = 5.0
# Slack for ``q / 100 * total`` in binary floating point (0.95 * 20 is not exactly 19).
_RANK_TOLERANCE = 1e-9


def percentile(values: Sequence[float] | np.ndarray, q: float,
               weights: Sequence[float] | np.ndarray | None = None) -> float | None:
    """Weighted nearest-rank percentile: the smallest value with at least ``q``% of the weight at or below it.

    Unweighted, that is the value of rank ceil(q/100 * n) in ascending order: numpy's
    ``method="inverted_cdf"`` and Postgres' ``percentile_disc(q/100)``. It is always one of the
    values (never an interpolation). None when there are no values or no weight.
    """
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return None
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"a percentile is between 0 and 100, not {q}")
    weight = np.ones_like(data) if weights is None else np.asarray(weights, dtype=float)
    if weight.shape != data.shape or (weight < 0).any():
        raise ValueError("weights must be non-negative, one per value")
    order = np.argsort(data, kind="stable")
    cumulative = np.cumsum(weight[order])
    total = float(cumulative[-1])
    if total <= 0.0:
        return None
    target = q / 100.0 * total * (1.0 - _RANK_TOLERANCE)
    index = int(np.searchsorted(cumulative, target, side="left"))
    # q = 0 (or leading zero weights): the first value that carries weight.
    index = max(index, int(np.argmax(cumulative > 0.0)))
    return float(data[order][min(index, data.size - 1)])


def throughput(transactions: int, seconds: float, min_seconds: float = MIN_THROUGHPUT_SECONDS) -> float | None:
    """Transactions per second over ``seconds`` of work; None below ``min_seconds`` (too short to mean much)."""
    if seconds <= 0.0 or seconds < min_seconds:
        return None
    return round(transactions / seconds, 1)


def summarize(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Totals, cache hit rate, task and per-transaction milliseconds (avg/P95/P99), throughput while in flight."""
    transactions = sum(r["rows"] for r in rows)
    task_ms = np.array([r["total_ms"] for r in rows], dtype=float)
    # A transaction waits for its chunk: queue wait plus the chunk's run, for every row of it.
    latency_ms = np.array([(r["queue_wait_ms"] or 0.0) + r["total_ms"] for r in rows], dtype=float)
    weights = np.array([r["rows"] for r in rows], dtype=float)
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
        "throughput_tps": throughput(transactions, in_flight_seconds(rows)),
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


def in_flight_seconds(rows: Sequence[dict[str, Any]]) -> float:
    """Wall time during which at least one chunk was in flight, from its publish to its commit.

    A chunk committed at about ``created_at`` (its write transaction's start), after ``total_ms``
    of running and ``queue_wait_ms`` of waiting. The spans are merged: idle gaps between jobs do
    not count, and chunks that overlap count once. Queue wait counts because the pipeline had
    taken the work on; leaving it out made a small job look several times faster than it was.
    """
    if not rows:
        return 0.0
    ends = np.array([r["created_at"].timestamp() for r in rows])
    starts = ends - np.array([(r["queue_wait_ms"] or 0.0) + r["total_ms"] for r in rows], dtype=float) / 1000.0
    order = np.argsort(starts)
    total, current_start, current_end = 0.0, starts[order[0]], ends[order[0]]
    for start, end in zip(starts[order[1:]], ends[order[1:]], strict=True):
        if start > current_end:  # a gap: close the stretch
            total += current_end - current_start
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    return float(total + current_end - current_start)


def _stats(values: np.ndarray, weights: np.ndarray | None = None) -> dict[str, float | None]:
    if values.size == 0 or (weights is not None and weights.sum() <= 0):
        return {"avg": None, "p95": None, "p99": None}
    p95, p99 = percentile(values, 95, weights), percentile(values, 99, weights)
    return {"avg": round(float(np.average(values, weights=weights)), 3),
            "p95": None if p95 is None else round(p95, 3), "p99": None if p99 is None else round(p99, 3)}


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None
