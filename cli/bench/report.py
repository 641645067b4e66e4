"""The benchmark's Markdown summary and PNG charts, drawn from a run's results (the JSON ``manna bench`` writes).

Chart rules: plain units (tx/s, ms, MB) with thousands separators on linear axes that start at 0; every
time series drawn raw and faint under a bold rolling mean whose window the legend states; titles carry
the scenario and its size. Redraw a committed report from its JSON with
``python -m cli.bench.report RESULT.json DIR "manna bench ..."``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no screen
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

RUNS = ("cold", "warm", "soak", "baseline")
COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple")
CLIP_PERCENTILE = 99.9
THOUSANDS = FuncFormatter(lambda value, _: f"{value:,.0f}")


LATENCY_PHASES = ("latency_idle", "latency_loaded", "latency_backlog")  # probes idle, at half the peak, in a backlog

def write_report(directory: Path, result: dict[str, Any], command: str) -> Path:
    """summary.md plus the charts beside it; returns the summary's path."""
    directory.mkdir(parents=True, exist_ok=True)
    charts = []
    for name, build in CHARTS.items():
        fig = build(result)
        if fig is not None:  # no data for this chart in this scenario: no file
            fig.savefig(directory / name, dpi=110)
            plt.close(fig)
            charts.append(name)
    summary = directory / "summary.md"
    summary.write_text(_markdown(result, command, charts), encoding="utf-8")
    return summary


# Pure helpers: what the charts compute, testable without drawing.

def rolling_mean(values: Sequence[float], window: int) -> np.ndarray:
    """Centred mean over ``window`` points, same length as ``values``; the edges average what they have."""
    x = np.asarray(values, dtype=float)
    if window <= 1 or len(x) == 0:
        return x.copy()
    before = (window - 1) // 2
    index = np.arange(len(x))
    low = np.maximum(0, index - before)
    high = np.minimum(len(x), index - before + window)
    sums = np.concatenate([[0.0], np.cumsum(x)])
    return np.asarray((sums[high] - sums[low]) / (high - low))


def window_seconds(duration_s: float) -> int:
    """Rolling-mean window for a series this long: wide enough to hide the 1,000-label chunk steps."""
    if duration_s < 120:
        return 5
    return 10 if duration_s < 400 else 30


def per_second(timeline: Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray]:
    """(second since the first non-zero sample, mean value in that second) of (epoch time, value) samples.

    Samples before the first non-zero one are dropped: the pool's children do not exist yet.
    """
    points = np.asarray(timeline, dtype=float).reshape(-1, 2)
    nonzero = np.nonzero(points[:, 1] > 0)[0]
    if not len(nonzero):
        return np.zeros(0), np.zeros(0)
    points = points[nonzero[0]:]
    second = np.floor(points[:, 0] - points[0, 0]).astype(int)
    seconds = np.unique(second)
    means = np.array([points[second == s, 1].mean() for s in seconds])
    return seconds.astype(float), means


def clip_limit(samples: Sequence[Sequence[float]], percentile: float = CLIP_PERCENTILE) -> tuple[float, bool]:
    """Upper x limit for latency CDFs (the largest per-series percentile) and whether any point lies beyond."""
    present = [np.asarray(s, dtype=float) for s in samples if len(s)]
    if not present:
        return 1.0, False
    # "higher": the limit is a measured point, so a small sample is not cut below its own maximum
    limit = max(float(np.percentile(s, percentile, method="higher")) for s in present)
    return limit, any(float(s.max()) > limit for s in present)


def describe(result: dict[str, Any]) -> str:
    """The scenario and its size, for chart titles: e.g. "cold, 1,000,000 transactions, 2 workers"."""
    scenario = result["scenario"]
    if scenario == "soak" and isinstance(result.get("soak"), dict):
        size = (f"soak, {result.get('soak_minutes', 0):g} min at {result.get('soak_rate_tps', 0):,.0f} tx/s "
                f"({result['soak']['transactions']:,} transactions)")
    elif scenario == "stream" and result.get("days"):
        size = f"stream, {result['n']:,} transactions over {len(result['days'])} days"
    elif scenario == "latency" and "latency_idle" in result:
        size = f"latency, {result['latency_idle']['probes']:,} single-transaction probes idle, under load, in a backlog"
        if "latency_loaded" in result:
            size += f" ({result['latency_loaded']['load_tps']:,.0f} tx/s)"
    elif scenario == "warm":
        size = f"warm, {result['n']:,} transactions sent twice"
    else:
        size = f"{scenario}, {result['n']:,} transactions"
    return f"{size}, {result['workers']} workers" + (" (quick)" if result.get("quick") else "")


# Charts: each returns a figure, or None when the run has no data for it.

def throughput_figure(result: dict[str, Any]) -> Figure | None:
    """Labels committed per second: per-second counts faint, rolling mean bold."""
    runs = {name: run for name, run in _runs(result).items() if run.get("labels_per_second")}
    if not runs:
        return None
    fig, ax = plt.subplots(figsize=(8, 4))
    for (name, run), color in zip(runs.items(), COLORS, strict=False):
        series = np.asarray(run["labels_per_second"], dtype=float)
        window = window_seconds(len(series))
        seconds = np.arange(len(series))
        ax.plot(seconds, series, ".", ms=3, alpha=0.25, color=color, label=f"{name}, each second")
        ax.plot(seconds, rolling_mean(series, window), lw=2.2, color=color,
                label=f"{name}, {window} s rolling mean ({run.get('throughput_tps', series.mean()):,.0f} tx/s overall)")
    xlabel = ("seconds of labeling, the daily batches laid end to end (s)" if result.get("days")
              else "seconds since the first message (s)")
    _plain_axes(ax, xlabel, "labels committed per second (tx/s)")
    ax.set_title(f"Throughput over time\n{describe(result)}", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def latency_figure(result: dict[str, Any]) -> Figure | None:
    """Latency CDF on a linear millisecond axis, clipped at the slowest series' P99.9."""
    samples = {name: (run.get("latency_sample_ms"), run.get("latency_ms")) for name, run in _runs(result).items()}
    for name in LATENCY_PHASES:
        if name in result:
            samples[name.removeprefix("latency_")] = (result[name]["latency_sample_ms"], result[name]["latency_ms"])
    samples = {name: pair for name, pair in samples.items() if pair[0]}
    if not samples:
        return None
    limit, clipped = clip_limit([values for values, _ in samples.values()])
    fig, ax = plt.subplots(figsize=(8, 4))
    for (name, (values, figures)), color in zip(samples.items(), COLORS, strict=False):
        ordered = np.sort(np.asarray(values, dtype=float))
        p50, p95 = (figures or {}).get("p50", np.median(ordered)), (figures or {}).get("p95")
        label = f"{name}: P50 {p50:,.0f} ms" + (f", P95 {p95:,.0f} ms" if p95 is not None else "")
        ax.plot(ordered, np.arange(1, len(ordered) + 1) / len(ordered), lw=2, color=color, label=label)
    xlabel = "submit -> label committed (ms)"
    if clipped:
        xlabel += f"; axis cut at the P{CLIP_PERCENTILE:g} of the slowest series, {limit:,.0f} ms"
    _plain_axes(ax, xlabel, "share of transactions at or below")
    ax.set_xlim(0, limit * 1.02)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_title(f"Latency, cumulative\n{describe(result)}", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def stages_figure(result: dict[str, Any]) -> Figure | None:
    """Worker milliseconds per 1,000 transactions, stacked by stage, the total written on each bar."""
    runs = {name: run["stages"] for name, run in _runs(result).items() if run.get("stages")}
    if not runs:
        return None
    fig, ax = plt.subplots(figsize=(8, 4))
    names = list(runs)
    # the stream's stages are those of its last day (see run.py)
    ticks = [f"{n}, last day ({runs[n]['rows']:,} transactions)" if result.get("days") else n for n in names]
    bottom = np.zeros(len(names))
    for stage in next(iter(runs.values()))["ms_per_1000_transactions"]:
        values = np.array([runs[n]["ms_per_1000_transactions"][stage] for n in names])
        ax.bar(ticks, values, bottom=bottom, label=stage, width=0.5)
        bottom += values
    for x, total in enumerate(bottom):
        ax.text(x, total, f"{total:,.0f} ms", ha="center", va="bottom", fontsize=9)
    ax.set_xlim(-0.75, len(names) - 0.25)
    ax.set_ylim(0, max(bottom.max(), 1.0) * 1.12)
    ax.yaxis.set_major_formatter(THOUSANDS)
    ax.set_ylabel("worker time per 1,000 transactions (ms)")
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(f"Where the time goes, per stage\n{describe(result)}", fontsize=10)
    handles, labels = ax.get_legend_handles_labels()  # top of the stack first, as drawn
    ax.legend(handles[::-1], labels[::-1], fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return fig


def memory_figure(result: dict[str, Any]) -> Figure | None:
    """Summed RSS of the worker processes over the whole run: per-second means faint, rolling mean bold."""
    seconds, megabytes = per_second(result.get("rss_timeline_mb") or [])
    if not len(seconds):
        return None
    window = window_seconds(seconds[-1])
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(seconds, megabytes, lw=0.8, alpha=0.35, color=COLORS[0], label="each second")
    ax.plot(seconds, rolling_mean(megabytes, window), lw=2.2, color=COLORS[0], label=f"{window} s rolling mean")
    soak = result.get("soak") if isinstance(result.get("soak"), dict) else {}
    if soak.get("started_at"):
        first = next(t for t, rss in result["rss_timeline_mb"] if rss > 0)
        ax.axvline(soak["started_at"] - first, ls="--", color="grey", lw=1, label="soak starts")
    _plain_axes(ax, "seconds since the worker processes started (s)",
                f"RSS of the {result['workers']} worker processes, summed (MB)")
    ax.set_ylim(0, max(float(megabytes.max()), 1.0) * 1.15)
    ax.set_title(f"Worker memory over the run (peak {result['peak_rss_mb']:,.0f} MB per process)\n"
                 f"{describe(result)}", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def days_figure(result: dict[str, Any]) -> Figure | None:
    """The stream's days as bars: throughput and cache hit rate per day."""
    days = result.get("days")
    if not days:
        return None
    number = np.arange(1, len(days) + 1)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 5.5), sharex=True)
    top.bar(number, [d["throughput_tps"] for d in days], color=COLORS[0])
    top.yaxis.set_major_formatter(THOUSANDS)
    top.set(ylabel="throughput (tx/s)", ylim=(0, max(d["throughput_tps"] for d in days) * 1.15))
    bottom.bar(number, [d["cache_hit_rate"] for d in days], color=COLORS[1])
    bottom.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    bottom.set(ylabel="cache hit rate", ylim=(0, 1), xlabel="day", xlim=(0, len(days) + 1))
    for ax in (top, bottom):
        ax.grid(axis="y", alpha=0.3)
    top.set_title(f"Each day of the stream\n{describe(result)}", fontsize=10)
    fig.tight_layout()
    return fig


CHARTS: dict[str, Callable[[dict[str, Any]], Figure | None]] = {
    "throughput.png": throughput_figure, "latency_cdf.png": latency_figure, "stages.png": stages_figure,
    "days.png": days_figure, "memory.png": memory_figure}

CAPTIONS = {
    "throughput.png": "Labels committed per second: each second faint, a rolling mean bold. Labels are committed "
                      "a chunk at a time (1,000 rows by default), so single seconds jump in steps of a chunk; the mean "
                      "is the rate.",
    "latency_cdf.png": "Share of transactions labeled within a given time after they were sent.",
    "stages.png": "Worker time per 1,000 transactions, by stage.",
    "days.png": "Throughput and cache hit rate, day by day.",
    "memory.png": "Summed RSS of the worker processes over the whole run.",
}


def _runs(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {name: result[name] for name in RUNS if isinstance(result.get(name), dict)}
    return found or {result["scenario"]: result}


def _plain_axes(ax: Any, xlabel: str, ylabel: str) -> None:
    ax.set(xscale="linear", yscale="linear", xlabel=xlabel, ylabel=ylabel)
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.xaxis.set_major_formatter(THOUSANDS)
    ax.yaxis.set_major_formatter(THOUSANDS)
    ax.grid(alpha=0.3)


def _hit_rate(result: dict[str, Any]) -> str:
    rates = result.get("cache_hit_rates")  # the stream's, by layer; older results have the total only
    if not rates:
        return f"{result.get('cache_hit_rate', 0):.1%}"
    return f"{rates['total']:.1%} (exact key {rates['exact']:.1%}, merchant layer {rates['merchant']:.1%})"


def _markdown(result: dict[str, Any], command: str, charts: list[str]) -> str:
    machine = result["machine"]
    lines = [f"# manna bench: {result['scenario']}", "", f"{describe(result)}.", "",
             f"`{command}`, {result['date']}, {machine['cores']} cores, {machine['memory_gb']} GiB, "
             f"Python {machine['python']}, {result['workers']} worker processes.", "",
             "| figure | value |", "|---|---|",
             f"| throughput | {result['throughput_tps']:,.0f} transactions/s |",
             "| latency P50 / P95 / P99 | {p50:,.0f} / {p95:,.0f} / {p99:,.0f} ms |".format(**result["latency_ms"]),
             f"| cache hit rate | {_hit_rate(result)} |",
             f"| peak RSS per worker process | {result['peak_rss_mb']:,.0f} MB |"]
    if "cpu_us_per_tx" in result:  # runs before the CPU accounting have none
        cpu = result["cpu_us_per_tx"]
        lines.append(f"| CPU per transaction | {cpu['total']:,.0f} us (workers {cpu['workers']:,.0f}, Postgres "
                     f"{cpu['postgres']:,.0f}, Redis {cpu['redis']:,.0f}, producer {cpu['producer']:,.0f}) |")
    if "baseline_throughput_tps" in result:
        lines += [f"| naive baseline throughput | {result['baseline_throughput_tps']:,.1f} transactions/s |",
                  f"| ours / baseline | {result['ratio_vs_baseline']}x |"]
    if "soak" in result and "rss_growth_pct" in result["soak"]:
        lines.append(f"| RSS growth over the soak (last minute vs second) | {result['soak']['rss_growth_pct']:+.2f}% |")
    for name in LATENCY_PHASES:
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
    for chart in charts:
        lines += ["", f"{CAPTIONS[chart]}", "", f"![{chart}]({chart})"]
    return "\n".join([*lines, ""])


if __name__ == "__main__":  # redraw: python -m cli.bench.report RESULT.json DIR "manna bench ..."
    json_path, report_dir, original_command = sys.argv[1:4]
    print(write_report(Path(report_dir), json.loads(Path(json_path).read_text(encoding="utf-8")), original_command))
