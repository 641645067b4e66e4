"""The benchmark's Markdown summary and PNG charts (throughput over time, latency CDF, stages)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no screen
import matplotlib.pyplot as plt
import numpy as np

RUNS = ("cold", "warm", "soak", "baseline")


def write_report(directory: Path, result: dict[str, Any], command: str) -> Path:
    """summary.md plus the charts beside it; returns the summary's path."""
    directory.mkdir(parents=True, exist_ok=True)
    charts = [name for name, draw in (("throughput.png", _throughput), ("latency_cdf.png", _latency_cdf),
                                      ("stages.png", _stages)) if draw(result, directory / name)]
    summary = directory / "summary.md"
    summary.write_text(_markdown(result, command, charts), encoding="utf-8")
    return summary


def _runs(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {name: result[name] for name in RUNS if isinstance(result.get(name), dict)}
    return found or {result["scenario"]: result}


def _throughput(result: dict[str, Any], path: Path) -> bool:
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for name, run in _runs(result).items():
        if run.get("labels_per_second"):
            ax.plot(run["labels_per_second"], label=name)
    ax.set(xlabel="seconds since the first message", ylabel="labels committed per second",
           title="Throughput over time")
    ax.legend()
    return _save(fig, path)


def _latency_cdf(result: dict[str, Any], path: Path) -> bool:
    fig, ax = plt.subplots(figsize=(7, 3.5))
    samples = {name: run.get("latency_sample_ms") for name, run in _runs(result).items()}
    for name in ("latency_idle", "latency_loaded"):
        if name in result:
            samples[name.removeprefix("latency_")] = result[name]["latency_sample_ms"]
    for name, values in samples.items():
        if values:
            ordered = np.sort(values)
            ax.plot(ordered, np.linspace(0, 1, len(ordered)), label=name)
    ax.set(xscale="log", xlabel="submit -> label committed (ms)", ylabel="share of transactions",
           title="Latency CDF")
    ax.legend()
    return _save(fig, path)


def _stages(result: dict[str, Any], path: Path) -> bool:
    runs = {name: run["stages"] for name, run in _runs(result).items() if run.get("stages")}
    if not runs:
        plt.close("all")
        return False
    fig, ax = plt.subplots(figsize=(7, 3.5))
    names = list(runs)
    bottom = np.zeros(len(names))
    for stage in next(iter(runs.values()))["ms_per_1000_transactions"]:
        values = np.array([runs[n]["ms_per_1000_transactions"][stage] for n in names])
        ax.bar(names, values, bottom=bottom, label=stage)
        bottom += values
    ax.set(ylabel="worker ms per 1,000 transactions", title="Where the time goes, per stage")
    ax.legend(fontsize=8)
    return _save(fig, path)


def _save(fig: Any, path: Path) -> bool:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _markdown(result: dict[str, Any], command: str, charts: list[str]) -> str:
    machine = result["machine"]
    lines = [f"# manna bench: {result['scenario']}", "",
             f"`{command}`, {result['date']}, {machine['cores']} cores, {machine['memory_gb']} GiB, "
             f"Python {machine['python']}, {result['workers']} worker processes.", "",
             "| figure | value |", "|---|---|",
             f"| throughput | {result['throughput_tps']:,.0f} transactions/s |",
             "| latency P50 / P95 / P99 | {p50:,.0f} / {p95:,.0f} / {p99:,.0f} ms |".format(**result["latency_ms"]),
             f"| cache hit rate | {result.get('cache_hit_rate', 0):.1%} |",
             f"| peak RSS per worker process | {result['peak_rss_mb']:,.0f} MB |"]
    if "baseline_throughput_tps" in result:
        lines += [f"| naive baseline throughput | {result['baseline_throughput_tps']:,.1f} transactions/s |",
                  f"| ours / baseline | {result['ratio_vs_baseline']}x |"]
    if "soak" in result and "rss_growth_pct" in result["soak"]:
        lines.append(f"| RSS growth over the soak (last minute vs second) | {result['soak']['rss_growth_pct']:+.2f}% |")
    for name in ("latency_idle", "latency_loaded"):
        if name in result:
            lines.append(f"| {name.replace('_', ' ')} P95 | {result[name]['latency_ms']['p95']:,.0f} ms |")
    limits = result["limits"]
    lines += ["", "Machine limits measured in the same run:", "",
              f"- Postgres COPY: {limits['postgres_copy_rows_per_s']:,.0f} rows/s",
              f"- Redis MGET: {limits['redis_mget_keys_per_s']:,.0f} keys/s",
              f"- empty Celery tasks: {limits['empty_tasks_per_s']:,.0f} tasks/s"]
    for name, run in _runs(result).items():
        stages = run.get("stages")
        if stages:
            per = ", ".join(f"{k} {v:,.1f}" for k, v in stages["ms_per_1000_transactions"].items())
            lines += ["", f"Stages of `{name}` (worker ms per 1,000 transactions): {per}. "
                          f"Queue wait per task: mean {stages['queue_wait_ms']['mean']:,.0f} ms, "
                          f"P95 {stages['queue_wait_ms']['p95']:,.0f} ms. Rules decided "
                          f"{stages['rule_share']:.0%}, the model {stages['model_share']:.0%}."]
    if "cache_key_study" in result:
        lines += ["", "Hit rate an unbounded cache would reach on this stream, per key choice:", ""]
        lines += [f"- {name}: {rate:.1%}" for name, rate in result["cache_key_study"].items()]
    lines += [""] + [f"![{c}]({c})" for c in charts] + [""]
    return "\n".join(lines)
