"""Figures of the admin API, `manna status` and the alerts, from chunk metric rows."""

import datetime as dt

import numpy as np
import pytest

from db.engine import session_scope
from db.jobs import job_summary
from db.models import Job
from pipeline.performance import MIN_THROUGHPUT_SECONDS, by_variant, percentile, summarize, throughput

T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def _row(end_s: float, total_ms: float, rows: int = 1000, variant: str = "A", queue_ms: float = 0.0,
         cache_hits: int = 0) -> dict:
    return {"variant": variant, "model_version": "m", "rows": rows, "cache_hits": cache_hits, "rule_hits": 0,
            "model_hits": rows - cache_hits, "cache_errors": 0, "queue_wait_ms": queue_ms, "total_ms": total_ms,
            "created_at": T0 + dt.timedelta(seconds=end_s)}


def test_throughput_counts_time_in_flight_only_not_the_gap_between_jobs():
    # Two 5-second jobs of 10,000 transactions, an hour apart; each chunk waited 1 s and ran 4 s.
    first = [_row(5.0, 4000, rows=5000, queue_ms=1000), _row(5.0, 4000, rows=5000, queue_ms=1000)]
    second = [_row(3605.0, 4000, rows=5000, queue_ms=1000), _row(3605.0, 4000, rows=5000, queue_ms=1000)]
    assert summarize(first + second)["throughput_tps"] == 2000.0  # 20,000 over 10 s, not over the hour


def test_a_small_job_has_no_throughput_rather_than_an_extrapolated_one():
    # The 2,000-row job of the issue: two chunks of 160 ms side by side read as 12,500 tx/s over their run time.
    rows = [_row(1.0, 160, queue_ms=60), _row(1.0, 160, queue_ms=40)]
    summary = summarize(rows)
    assert summary["transactions"] == 2000 and summary["throughput_tps"] is None
    assert summarize([])["throughput_tps"] is None and summarize([])["cache_hit_rate"] is None
    # Queue wait counts: a chunk is the pipeline's work from its publish, not from when a worker took it.
    waited = [_row(float(n), 200, rows=100, queue_ms=800) for n in range(1, 11)]  # back to back, 10 s
    assert summarize(waited)["throughput_tps"] == 100.0


def test_throughput_needs_the_minimum_of_work():
    assert throughput(2000, MIN_THROUGHPUT_SECONDS - 0.01) is None
    assert throughput(2000, MIN_THROUGHPUT_SECONDS) == round(2000 / MIN_THROUGHPUT_SECONDS, 1)
    assert throughput(10, 0.0, min_seconds=0.0) is None


def test_latency_percentiles_weigh_each_transaction_and_variants_split():
    rows = [_row(1, 100, rows=990, queue_ms=0), _row(2, 900, rows=10, queue_ms=100, variant="B")]
    overall = summarize(rows)
    assert overall["transaction_ms"]["p95"] == 100.0 and overall["transaction_ms"]["p99"] == 100.0
    assert overall["task_ms"]["p95"] == 900.0  # per task, not per transaction
    assert [(v["variant"], v["transactions"]) for v in by_variant(rows)] == [("A", 990), ("B", 10)]


def test_percentile_is_nearest_rank():
    values = [200.0, 500.0, 600.0, 1000.0]
    assert percentile(values, 50) == 500.0  # rank ceil(0.5 * 4) = 2; interpolation would say 550
    assert percentile(values, 50.1) == 600.0 and percentile(values, 100) == 1000.0 and percentile(values, 0) == 200.0
    assert percentile(list(range(1, 21)), 95) == 19.0  # 0.95 * 20 is 19 within rounding: rank 19, not 20
    assert percentile([3.0, 1.0, 2.0], 95, weights=[0, 5, 95]) == 2.0  # 3.0 carries no weight
    assert percentile([3.0, 1.0, 2.0], 5, weights=[0, 5, 95]) == 1.0
    assert percentile([3.0, 1.0], 0, weights=[1, 0]) == 3.0  # a value without weight is never the answer
    assert percentile([], 95) is None and percentile([1.0], 95, weights=[0]) is None
    with pytest.raises(ValueError):
        percentile([1.0], 101)


@pytest.mark.parametrize("seed", range(5))
def test_percentile_is_numpys_inverted_cdf_weighted_or_not(seed):
    rng = np.random.default_rng(seed)
    for _ in range(200):
        n = int(rng.integers(1, 80))
        values = rng.integers(0, 40, n).astype(float) if n % 2 else rng.lognormal(4, 1, n)
        weights = rng.integers(0, 1000, n).astype(float)
        weights[0] += 1
        for q in (1, 50, 95, 99, 100):
            assert percentile(values, q) == np.percentile(values, q, method="inverted_cdf")
            assert percentile(values, q, weights) == np.percentile(values, q, method="inverted_cdf", weights=weights)


def test_a_jobs_throughput_runs_from_its_first_message_to_its_last_label(sqlite_settings):
    with session_scope(sqlite_settings.effective_database_url) as session:
        session.add_all([
            Job(job_id="small", source="s", status="finished", labeled=2000, created_at=T0,
                finished_at=T0 + dt.timedelta(seconds=0.4)),
            Job(job_id="big", source="s", status="finished", labeled=20_000, created_at=T0,
                finished_at=T0 + dt.timedelta(seconds=8)),
            Job(job_id="running", source="s", status="running", labeled=500, created_at=T0)])
    with session_scope(sqlite_settings.effective_database_url) as session:
        small, big, running = (job_summary(session, job_id) for job_id in ("small", "big", "running"))
    assert small is not None and big is not None and running is not None
    assert (small["elapsed_s"], small["throughput_tps"]) == (0.4, None)
    assert (big["elapsed_s"], big["throughput_tps"]) == (8.0, 2500.0)
    assert (running["elapsed_s"], running["throughput_tps"]) == (None, None)
