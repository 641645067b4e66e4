"""``/metrics``: Prometheus figures read from Postgres (``task_metrics``) and the broker's queues.

The workers already record every chunk in ``task_metrics``, so the API tails that table: each
scrape reads only the rows added since the last one, and adds them to cumulative counters and
histograms kept in this process. A restart of the API counts the whole table again, so the
counters continue from their true totals. Ids are handed out at insert, not at commit, so each
scrape also looks back over the last rows (``LOOKBACK``) and adds those it has not seen.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from db.engine import session_scope
from db.feedback import recent_accuracy
from db.queries import chunk_metrics, failed_runs, failure_counts, rejected_count
from pipeline.performance import MIN_THROUGHPUT_SECONDS, error_rate, summarize
from pipeline.settings import Settings

TASK_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0)
LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0, 600.0)
WINDOW = dt.timedelta(hours=1)
# A metrics row commits at most a hard time limit after its id was handed out: far fewer ids than this.
LOOKBACK = 10_000


class _Histogram:
    """Cumulative bucket counts with weights (a chunk's latency counts once per transaction)."""

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = np.array(bounds)
        self.counts = np.zeros(len(bounds) + 1)
        self.total = 0.0

    def observe(self, seconds: float, weight: float = 1.0) -> None:
        # side="left": a value equal to a bound lands in that bound's bucket, as Prometheus' ``le`` means.
        self.counts[int(np.searchsorted(self.bounds, seconds, side="left"))] += weight
        self.total += seconds * weight

    def buckets(self) -> list[tuple[str, float]]:
        cumulative = np.cumsum(self.counts)
        return [*((f"{b:g}", float(c)) for b, c in zip(self.bounds, cumulative, strict=False)),
                ("+Inf", float(cumulative[-1]))]


class _Variant:
    def __init__(self) -> None:
        self.tasks = 0
        self.transactions = 0
        self.cache_hits = 0
        self.cache_errors = 0
        self.task_seconds = _Histogram(TASK_BUCKETS)
        self.latency_seconds = _Histogram(LATENCY_BUCKETS)

    def add(self, row: dict[str, Any]) -> None:
        self.tasks += 1
        self.transactions += row["rows"]
        self.cache_hits += row["cache_hits"]
        self.cache_errors += row["cache_errors"] or 0
        self.task_seconds.observe(row["total_ms"] / 1000.0)
        self.latency_seconds.observe(((row["queue_wait_ms"] or 0.0) + row["total_ms"]) / 1000.0, row["rows"])


class PipelineCollector(Collector):
    """Collects on every scrape; ``queue_depths`` reads the broker (empty when it has no queues)."""

    def __init__(self, settings: Settings, queue_depths: Callable[[], dict[str, int]]) -> None:
        self.settings = settings
        self.url = settings.effective_database_url
        self.queue_depths = queue_depths
        self.variants: dict[str, _Variant] = {}
        self.last_id = 0
        self.counted: set[int] = set()  # ids within LOOKBACK of last_id that are already counted
        self.lock = threading.Lock()

    def collect(self) -> Iterator[Any]:
        with self.lock, session_scope(self.url) as session:
            self._count_new_rows(session)
            since = dt.datetime.now(dt.UTC) - WINDOW
            recent = chunk_metrics(session, since=since)
            failures, failed_recently = failure_counts(session), failed_runs(session, since=since)
            rejected = rejected_count(session)
            accuracy = recent_accuracy(session, self.settings)
        yield from self._counters()
        yield from self._histograms()
        yield from self._last_hour(recent, failed_recently)
        failed = CounterMetricFamily("manna_failed_tasks", "Task runs recorded in failed_tasks.", labels=["task"])
        for task, count in sorted(failures.items()):
            failed.add_metric([task], count)
        yield failed
        yield CounterMetricFamily("manna_rejected_transactions", "Rows rejected with a reason.", value=rejected)
        depth = GaugeMetricFamily("manna_queue_depth", "Messages waiting in each broker queue; 'unacked': held by "
                                  "workers.", labels=["queue"])
        for queue, count in sorted(self.queue_depths().items()):
            depth.add_metric([queue], count)
        yield depth
        yield from self._accuracy(accuracy)

    def _count_new_rows(self, session: Any) -> None:
        after = max(0, self.last_id - LOOKBACK)
        while rows := chunk_metrics(session, after_id=after, limit=50_000):
            for row in rows:
                if row["id"] not in self.counted:
                    self.variants.setdefault(row["variant"] or "A", _Variant()).add(row)
                    self.counted.add(row["id"])
            after = rows[-1]["id"]
            self.last_id = max(self.last_id, after)
        self.counted = {i for i in self.counted if i > self.last_id - LOOKBACK}

    def _counters(self) -> Iterator[Any]:
        specs = [("manna_tasks", "Chunk tasks committed.", "tasks"),
                 ("manna_transactions", "Transactions labeled by chunk tasks.", "transactions"),
                 ("manna_cache_hits", "Transactions answered by the result cache.", "cache_hits"),
                 ("manna_cache_errors", "Result cache calls that failed and were bypassed.", "cache_errors")]
        for name, doc, attribute in specs:
            family = CounterMetricFamily(name, doc, labels=["variant"])
            for variant, totals in sorted(self.variants.items()):
                family.add_metric([variant], getattr(totals, attribute))
            yield family

    def _histograms(self) -> Iterator[Any]:
        specs = [("manna_task_duration_seconds", "Run time of a chunk task, writes included.", "task_seconds"),
                 ("manna_transaction_latency_seconds",
                  "Chunk publish to label commit, once per transaction (queue wait plus the chunk's run).",
                  "latency_seconds")]
        for name, doc, attribute in specs:
            family = HistogramMetricFamily(name, doc, labels=["variant"])
            for variant, totals in sorted(self.variants.items()):
                histogram: _Histogram = getattr(totals, attribute)
                family.add_metric([variant], histogram.buckets(), histogram.total)
            yield family

    def _last_hour(self, recent: list[dict[str, Any]], failures: int) -> Iterator[Any]:
        summary = summarize(recent)
        gauges = [("manna_cache_hit_ratio_1h", "Cache hits over transactions, last hour.", summary["cache_hit_rate"]),
                  ("manna_error_ratio_1h", "Failed task runs over all chunk task runs, last hour.",
                   error_rate(summary["tasks"], failures)),
                  ("manna_throughput_tps_1h", "Transactions per second while chunks were in flight (publish to "
                   f"commit), last hour; absent under {MIN_THROUGHPUT_SECONDS:g} s of work.",
                   summary["throughput_tps"]),
                  ("manna_transaction_latency_p95_seconds_1h",
                   "P95 of transaction latency, last hour (weighted nearest-rank, as the admin API and the alerts).",
                   None if summary["transaction_ms"]["p95"] is None else summary["transaction_ms"]["p95"] / 1000.0)]
        for name, doc, value in gauges:
            if value is not None:
                yield GaugeMetricFamily(name, doc, value=value)

    def _accuracy(self, accuracy: dict[str, Any]) -> Iterator[Any]:
        """Live accuracy over the reviews of the window; absent until enough reviews back it."""
        window = f"last {self.settings.accuracy_window_minutes} minutes, at least {accuracy['min_reviews']} reviews"
        if accuracy["accuracy"] is not None:
            yield GaugeMetricFamily("manna_corrected_label_accuracy",
                                    f"Reviewed pipeline labels that reviewers confirmed ({window}).",
                                    value=accuracy["accuracy"])
        family = GaugeMetricFamily("manna_corrected_label_accuracy_by_variant",
                                   f"manna_corrected_label_accuracy per variant and model version ({window}).",
                                   labels=["variant", "model_version"])
        for group in accuracy["per_variant"]:
            if group["accuracy"] is not None:
                family.add_metric([group["variant"], group["model_version"]], group["accuracy"])
        yield family
