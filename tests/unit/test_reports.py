"""The evaluation and benchmark reports: helpers computed right on known data, charts on zero-based plain axes."""

import matplotlib.pyplot as plt
import numpy as np

from cli import report as evaluation
from cli.bench import report as bench
from pipeline.evaluate import Predictions, metrics

PNG = b"\x89PNG\r\n\x1a\n"

# 19 rows: a (10) -> 7 a, 2 b, 1 c; b (5) -> 3 b, 2 a; c (4) -> 2 c, 2 a. Seven wrong rows.
TRUTH = ["a"] * 10 + ["b"] * 5 + ["c"] * 4
PREDICTED = ["a"] * 7 + ["b"] * 2 + ["c"] + ["b"] * 3 + ["a"] * 2 + ["c"] * 2 + ["a"] * 2


def predictions() -> Predictions:
    confidence = np.linspace(0.3, 0.99, len(TRUTH))
    return Predictions(np.array(TRUTH, dtype=object), np.array(PREDICTED, dtype=object), confidence,
                       np.array(["model"] * len(TRUTH), dtype=object))


def evaluation_result(ours: Predictions, base: Predictions) -> dict:
    return {"data": "known.csv", "split": "random", "rows": len(TRUTH), "categories": 3,
            "ours": metrics(ours), "baseline": metrics(base, calibrated=False)}


def bench_result() -> dict:
    sawtooth = [2000, 3000] * 60  # labels committed a 1,000-row chunk at a time
    stages = {"ms_per_1000_transactions": {"normalize": 12.0, "cache": 18.0, "write": 49.0},
              "queue_wait_ms": {"mean": 100.0, "p95": 130.0}, "rule_share": 0.03, "model_share": 0.97, "rows": 1000}
    return {
        "scenario": "cold", "n": 1_000_000, "workers": 2, "quick": False, "date": "2026-11-27T21:48:58+00:00",
        "machine": {"cores": 2, "memory_gb": 23.5, "python": "3.11.7"},
        "limits": {"postgres_copy_rows_per_s": 500_000, "redis_mget_keys_per_s": 400_000, "empty_tasks_per_s": 250},
        "cold": {"transactions": 300_000, "throughput_tps": 2500.0, "labels_per_second": sawtooth,
                 "latency_ms": {"p50": 60_000.0, "p95": 110_000.0, "p99": 118_000.0},
                 "latency_sample_ms": list(np.linspace(400, 120_000, 500)), "stages": stages},
        "baseline": {"transactions": 3000, "throughput_tps": 100.0, "labels_per_second": [90, 110] * 15,
                     "latency_ms": {"p50": 12_000.0, "p95": 20_000.0, "p99": 21_000.0},
                     "latency_sample_ms": list(np.linspace(20, 21_000, 300))},
        "throughput_tps": 2500.0, "latency_ms": {"p50": 60_000.0, "p95": 110_000.0, "p99": 118_000.0},
        "cache_hit_rate": 0.6, "peak_rss_mb": 201.0,
        "rss_timeline_mb": [(1000.0 + t / 4, 0.0 if t < 4 else 400.0 + t % 3) for t in range(800)],
    }


# Pure helpers.

def test_rolling_mean_flattens_a_chunk_sawtooth_and_keeps_the_length():
    sawtooth = [2000, 3000] * 50
    mean = bench.rolling_mean(sawtooth, 10)
    assert len(mean) == 100 and np.allclose(mean[5:-5], 2500)
    assert bench.rolling_mean([0, 10, 0, 10], 2).tolist() == [5, 5, 5, 10]  # the edge averages what it has
    assert bench.rolling_mean([1, 2, 3], 3).tolist() == [1.5, 2, 2.5]
    assert bench.rolling_mean([4, 8], 1).tolist() == [4, 8]
    assert len(bench.rolling_mean([], 10)) == 0


def test_window_grows_with_the_length_of_the_run():
    assert [bench.window_seconds(s) for s in (28, 175, 600)] == [5, 10, 30]


def test_per_second_drops_the_samples_before_the_workers_exist_and_averages_each_second():
    timeline = [(100.0, 0.0), (100.2, 0.0), (100.5, 10.0), (100.9, 20.0), (101.1, 30.0), (103.0, 40.0)]
    seconds, values = bench.per_second(timeline)
    assert seconds.tolist() == [0, 2] and values.tolist() == [20, 40]
    assert len(bench.per_second([(1.0, 0.0)])[0]) == 0


def test_latency_axis_is_cut_at_a_measured_p99_9_and_says_whether_it_cut():
    assert bench.clip_limit([range(1, 2001)]) == (1999.0, True)
    assert bench.clip_limit([range(1, 11), range(1, 6)]) == (10.0, False)
    assert bench.clip_limit([[]]) == (1.0, False)


def test_the_stream_reports_its_hit_rate_by_cache_layer_and_older_results_the_total():
    rates = {"exact": 0.2, "merchant": 0.55, "total": 0.75}
    assert bench._hit_rate({"cache_hit_rate": 0.75, "cache_hit_rates": rates}) == (
        "75.0% (exact key 20.0%, merchant layer 55.0%)")
    assert bench._hit_rate({"cache_hit_rate": 0.46}) == "46.0%"


def test_titles_carry_the_scenario_and_its_size():
    assert bench.describe(bench_result()) == "cold, 1,000,000 transactions, 2 workers"
    soak = {"scenario": "soak", "n": 20_000, "workers": 2, "soak_minutes": 10.0, "soak_rate_tps": 2674.9,
            "soak": {"transactions": 1_604_970}}
    assert bench.describe(soak) == "soak, 10 min at 2,675 tx/s (1,604,970 transactions), 2 workers"
    assert evaluation.describe({"split": "unseen", "rows": 20_000, "categories": 104}) == \
        "split unseen, 20,000 rows, 104 categories, 5 folds"
    assert evaluation.describe({"split": "random", "rows": 900, "categories": 7, "folds": 2, "repeats": 3}) == \
        "split random, 900 rows, 7 categories, 2 folds, 3 fold seeds pooled"


def test_confused_pairs_count_wrong_rows_most_first_then_by_share():
    pairs = evaluation.confused_pairs(TRUTH, PREDICTED, top=3)
    assert [(c.true, c.predicted, c.count, c.support) for c in pairs] == [
        ("c", "a", 2, 4), ("b", "a", 2, 5), ("a", "b", 2, 10)]
    assert pairs[0].share == 0.5
    assert len(evaluation.confused_pairs(TRUTH, PREDICTED)) == 4  # a -> c as well
    assert evaluation.error_count(TRUTH, PREDICTED) == 7
    assert evaluation.confused_pairs(["a", "b"], ["a", "b"]) == []


def test_count_matrix_puts_every_other_category_in_the_last_column():
    matrix = evaluation.count_matrix(TRUTH, PREDICTED, ["a", "b"])
    assert matrix.tolist() == [[7, 2, 1], [2, 3, 0]]
    pairs = evaluation.confused_pairs(TRUTH, PREDICTED)
    assert evaluation.matrix_categories(pairs) == ["c", "a", "b"]
    assert evaluation.matrix_categories(pairs, limit=2) == ["c", "a"]


# Figures: linear, starting at 0, thousands separators, the rolling window named.

def _zero_based(ax) -> bool:
    return (ax.get_xscale(), ax.get_yscale()) == ("linear", "linear") and ax.get_xlim()[0] == 0 == ax.get_ylim()[0]


def test_bench_time_series_are_plain_zero_based_and_carry_a_named_rolling_mean():
    result = bench_result()
    for build in (bench.throughput_figure, bench.latency_figure, bench.memory_figure):
        fig = build(result)
        ax = fig.axes[0]
        assert _zero_based(ax), build.__name__
        assert "cold, 1,000,000 transactions, 2 workers" in ax.get_title()
        plt.close(fig)
    fig = bench.throughput_figure(result)
    ax = fig.axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "cold, 10 s rolling mean (2,500 tx/s overall)" in legend and "baseline, 5 s rolling mean" in legend[3]
    assert ax.yaxis.get_major_formatter()(12345, 0) == "12,345"
    mean = ax.get_lines()[1].get_ydata()
    assert np.allclose(mean[5:-5], 2500)
    plt.close(fig)
    fig = bench.stages_figure(result)
    assert fig.axes[0].get_ylim()[0] == 0 and "79 ms" in [t.get_text() for t in fig.axes[0].texts]
    plt.close(fig)


def test_latency_axis_is_cut_and_labelled_so():
    result = bench_result()
    result["cold"]["latency_sample_ms"] = [*range(1, 2001), 1_000_000]  # one far outlier
    fig = bench.latency_figure(result)
    ax = fig.axes[0]
    # the baseline's slowest point (21,000 ms) sets the limit; the cold run's outlier is cut off
    assert ax.get_xlim()[1] < 22_000 and "axis cut at the P99.9 of the slowest series, 21,000 ms" in ax.get_xlabel()
    plt.close(fig)


def test_bench_report_writes_the_charts_it_has_data_for(tmp_path):
    summary = bench.write_report(tmp_path / "cold", bench_result(), "manna bench --scenario cold")
    for chart in ("throughput.png", "latency_cdf.png", "stages.png", "memory.png"):
        assert (tmp_path / "cold" / chart).read_bytes()[:8] == PNG
        assert f"![{chart}]({chart})" in summary.read_text()
    assert not (tmp_path / "cold" / "days.png").exists()
    latency_only = bench_result() | {"scenario": "latency"}
    for name in ("cold", "baseline"):
        del latency_only[name]
    latency_only["latency_idle"] = {"probes": 200, "latency_ms": {"p50": 38.0, "p95": 50.0, "p99": 58.0},
                                    "latency_sample_ms": list(np.linspace(25, 60, 200))}
    bench.write_report(tmp_path / "latency", latency_only, "manna bench --scenario latency")
    assert (tmp_path / "latency" / "latency_cdf.png").exists()
    assert not (tmp_path / "latency" / "throughput.png").exists()  # no per-second series: no empty chart


def test_evaluation_report_lists_the_most_confused_pairs_with_counts(tmp_path):
    ours = predictions()
    base = Predictions(ours.truth, ours.truth.copy(), ours.confidence)
    evaluation.write_report(tmp_path, evaluation_result(ours, base), ours, base, "manna evaluate --data known.csv")
    for chart in ("reliability.png", "coverage.png", "confused_pairs.png", "confusion.png"):
        assert (tmp_path / chart).read_bytes()[:8] == PNG
    summary = (tmp_path / "summary.md").read_text()
    assert "the top 4 hold 7 of the 7 wrong rows" in summary
    assert "| true | predicted as | count | share of the true category |" in summary
    for row in ("| c | a | 2 | 50.0% of 4 |", "| b | a | 2 | 40.0% of 5 |", "| a | b | 2 | 20.0% of 10 |",
                "| a | c | 1 | 10.0% of 10 |"):
        assert row in summary
    assert summary.index("| c | a |") < summary.index("| b | a |") < summary.index("| a | c |")


def test_evaluation_charts_start_at_zero_and_write_the_counts_on_the_bars():
    ours = predictions()
    title = evaluation.describe({"split": "random", "rows": 19, "categories": 3})
    fig = evaluation.pairs_figure(evaluation.confused_pairs(TRUTH, PREDICTED), 7, title)
    ax = fig.axes[0]
    assert ax.get_xlim()[0] == 0 and " 2 of 4 (50%)" in [t.get_text() for t in ax.texts]
    assert "top 4, 7 of 7 wrong rows" in ax.get_title() and title in ax.get_title()
    plt.close(fig)
    for fig in (evaluation.coverage_figure(ours, ours, title), evaluation.reliability_figure(ours, title)):
        assert _zero_based(fig.axes[0])
        plt.close(fig)


def test_confusion_chart_without_errors_still_draws():
    truth = ["a", "b", "a"]
    perfect = Predictions(np.array(truth, dtype=object), np.array(truth, dtype=object), np.ones(len(truth)))
    fig = evaluation.confusion_figure(perfect, [], "no errors")
    assert fig.axes
    plt.close(fig)
