"""The benchmark's derived figures: computed from what was measured, not assumed."""

import numpy as np

from cli.bench.measure import flow
from cli.bench.run import rss_growth_pct


def test_rss_growth_compares_the_last_minute_with_the_second():
    flat = [(1000.0 + t, 400.0) for t in range(0, 600, 5)]
    growing = [(1000.0 + t, 400.0 + t / 10) for t in range(0, 600, 5)]
    assert rss_growth_pct(flat, 1000.0) == 0.0
    early = np.mean([400 + t / 10 for t in range(60, 120, 5)])
    late = np.mean([400 + t / 10 for t in range(535, 600, 5)])
    assert rss_growth_pct(growing, 1000.0) == round((late / early - 1) * 100, 2)
    assert rss_growth_pct(growing[:10], 1000.0) == 0.0  # too short to have a second minute


def test_flow_measures_from_the_first_message_to_the_last_label():
    published = [100.0, 101.0]  # two messages of two rows
    numbers = np.array([0, 1, 2, 3])
    committed = np.array([100.5, 100.6, 101.2, 102.0])
    result = flow(numbers, committed, published, message_size=2)
    assert result["elapsed_s"] == 2.0 and result["throughput_tps"] == 2.0
    # Nearest-rank, the project's one percentile: the 2nd of 200, 500, 600, 1000 (interpolation would say 550).
    assert result["latency_ms"]["p50"] == 500.0 == np.percentile([500, 600, 200, 1000], 50, method="inverted_cdf")
    assert result["labels_per_second"] == [2, 1, 1]
