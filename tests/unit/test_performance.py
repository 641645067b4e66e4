"""Figures of the admin API, `manna status` and the alerts, from chunk metric rows."""

import datetime as dt

from pipeline.performance import by_variant, summarize

T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def _row(end_s: float, total_ms: float, rows: int = 1000, variant: str = "A", queue_ms: float = 0.0,
         cache_hits: int = 0) -> dict:
    return {"variant": variant, "model_version": "m", "rows": rows, "cache_hits": cache_hits, "rule_hits": 0,
            "model_hits": rows - cache_hits, "cache_errors": 0, "queue_wait_ms": queue_ms, "total_ms": total_ms,
            "created_at": T0 + dt.timedelta(seconds=end_s)}


def test_throughput_counts_busy_time_only_not_the_gap_between_jobs():
    # Two 1-second jobs of 2,000 transactions, an hour apart; each ran two overlapping chunks.
    rows = [_row(1.0, 1000), _row(1.0, 800), _row(3601.0, 1000), _row(3601.0, 900)]
    assert summarize(rows)["throughput_tps"] == 2000.0


def test_latency_percentiles_weigh_each_transaction_and_variants_split():
    rows = [_row(1, 100, rows=990, queue_ms=0), _row(2, 900, rows=10, queue_ms=100, variant="B")]
    overall = summarize(rows)
    assert overall["transaction_ms"]["p95"] == 100.0 and overall["transaction_ms"]["p99"] == 100.0
    assert overall["task_ms"]["p95"] == 900.0  # per task, not per transaction
    assert [(v["variant"], v["transactions"]) for v in by_variant(rows)] == [("A", 990), ("B", 10)]
    assert summarize([])["throughput_tps"] == 0.0 and summarize([])["cache_hit_rate"] is None
