"""Alert rules: one configuration, evaluated by the beat task's code, and the same rules for Prometheus."""

import datetime as dt
import math
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from prometheus_client import CollectorRegistry, generate_latest

from api.prometheus import LATENCY_BUCKETS, PipelineCollector, _Variant
from cli.main import main
from db.alerts import alert_states, evaluate
from db.engine import session_scope
from db.models import AlertEvent, Correction, FailedTask, TaskMetric
from pipeline.alerts import load_alerts
from pipeline.performance import summarize

ROOT = Path(__file__).resolve().parents[2]
RULES_FILE = ROOT / "deploy" / "prometheus" / "alerts.yml"
T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def test_the_seeds_thresholds_are_the_rules():
    rules = {r.name: r for r in load_alerts().rules}
    assert (rules["transaction_latency_p95_high"].threshold, rules["transaction_latency_p95_high"].fires_above) == (
        300, True)
    assert (rules["corrected_label_accuracy_low"].threshold, rules["corrected_label_accuracy_low"].fires_above) == (
        0.92, False)
    assert (rules["cache_hit_rate_low"].threshold, rules["cache_hit_rate_low"].fires_above) == (0.5, False)
    assert (rules["error_rate_high"].threshold, rules["error_rate_high"].fires_above) == (0.05, True)
    cache = rules["cache_hit_rate_low"]
    assert cache.state(0.49, 20) == "firing" and cache.state(0.5, 20) == "ok"
    assert rules["error_rate_high"].state(None, 100) == "no_data"
    # Below its minimum sample a rule has no data, however bad the figure.
    assert {(r.name, r.sample, r.min_sample) for r in rules.values()} == {
        ("transaction_latency_p95_high", "chunks", 20), ("cache_hit_rate_low", "chunks", 20),
        ("error_rate_high", "task_runs", 20), ("corrected_label_accuracy_low", "reviews", 0)}
    assert cache.state(0.0, 19) == "no_data" and cache.state(0.0) == "no_data"
    assert rules["corrected_label_accuracy_low"].state(0.5, 0) == "firing"  # its figure has its own minimum


def test_a_rule_without_a_minimum_sample_is_refused(tmp_path):
    rule = {"name": "x", "summary": "x", "figure": "cache_hit_rate", "below": 0.5, "promql": "x"}
    for extra, message in (({}, "min_sample"), ({"sample": "chunks", "min_sample": -1}, "negative"),
                           ({"sample": "reviews", "min_sample": 5}, "must be 0"),
                           ({"sample": "lines", "min_sample": 5}, "sample must be one of")):
        path = tmp_path / "alerts.yaml"
        path.write_text(yaml.safe_dump({"window_minutes": 15, "rules": [rule | extra]}))
        with pytest.raises(ValueError, match=message):
            load_alerts(path)


def test_the_prometheus_rules_file_is_generated_from_the_same_config():
    generated = CliRunner().invoke(main, ["alerts", "prometheus"]).output
    assert RULES_FILE.read_text() == generated, "run: manna alerts prometheus > deploy/prometheus/alerts.yml"
    document = yaml.safe_load(generated)
    assert [r["alert"] for r in document["groups"][0]["rules"]] == [r.name for r in load_alerts().rules]


def test_every_metric_the_prometheus_rules_read_is_exported(sqlite_settings):
    with session_scope(sqlite_settings.effective_database_url) as session:
        _chunk(session, 0, total_ms=50.0, cache_hits=10)
        session.add(FailedTask(task_id="f", task_name="manna.categorize_chunk", kwargs={}, error="x", retries=3))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PipelineCollector(sqlite_settings, lambda: {"ingest": 0}))
    read = set(re.findall(r"\bmanna_\w+", RULES_FILE.read_text()))

    def exported() -> set[str]:
        return set(re.findall(r"^(manna_\w+?)(?:\{| )", generate_latest(registry).decode(), flags=re.M))

    # Live accuracy needs enough reviews (MANNA_ACCURACY_MIN_REVIEWS) before it is a figure at all.
    assert read - exported() == {"manna_corrected_label_accuracy"}
    with session_scope(sqlite_settings.effective_database_url) as session:
        session.add_all(_review(n, confirmed=n % 10 != 0) for n in range(sqlite_settings.accuracy_min_reviews))
    assert read - exported() == set()
    text = generate_latest(registry).decode()
    assert "manna_corrected_label_accuracy 0.9" in text
    assert 'manna_corrected_label_accuracy_by_variant{model_version="m",variant="A"} 0.9' in text


def _review(n: int, confirmed: bool) -> Correction:
    return Correction(source="s", transaction_id=f"t{n}", category="c" if confirmed else "d",
                      kind="confirmation" if confirmed else "correction", new_category=False, merchant_key="k",
                      direction=-1, previous_category="c", previous_decided_by="model", previous_confidence=0.8,
                      model_version="m", variant="A", channel="api")


def _chunk(session, n: int, total_ms: float, cache_hits: int) -> None:
    session.add(TaskMetric(task_id=f"t{n}", task_name="manna.categorize_chunk", job_id="j", variant="A",
                           model_version="m", rows=100, cache_hits=cache_hits, total_ms=total_ms, queue_wait_ms=5.0))


def test_a_fresh_install_has_no_data_rather_than_alerts(sqlite_settings):
    """Three chunks, all cache misses, one slow and one failure: too few to say anything."""
    url, config = sqlite_settings.effective_database_url, load_alerts()
    with session_scope(url) as session:
        for n, total_ms in enumerate((2_000.0, 40.0, 40.0)):
            _chunk(session, n, total_ms=total_ms, cache_hits=0)
        session.add(FailedTask(task_id="f", task_name="manna.categorize_chunk", kwargs={}, error="x", retries=3))
    with session_scope(url) as session:
        states = evaluate(session, config, sqlite_settings)
        recorded = {s.name: (s.state, s.value) for s in alert_states(session)}
    assert set(states.values()) == {"no_data"}
    assert recorded["cache_hit_rate_low"] == ("no_data", 0.0)  # the figure is kept; it is the sample that is short
    assert recorded["error_rate_high"] == ("no_data", 0.25)


def test_state_changes_are_recorded_once_each(sqlite_settings):
    url, config = sqlite_settings.effective_database_url, load_alerts()
    with session_scope(url) as session:
        assert evaluate(session, config, sqlite_settings)["transaction_latency_p95_high"] == "no_data"
    with session_scope(url) as session:
        for n in range(20):
            _chunk(session, n, total_ms=800.0, cache_hits=10)
        # Two failures in 22 runs (one in 21 would be 4.8%, under 5%).
        session.add_all(FailedTask(task_id=f"f{n}", task_name="manna.categorize_chunk", kwargs={}, error="x",
                                   retries=3) for n in range(2))
        # A refused message never ran: it is not a failed run, here or in the Prometheus rule.
        session.add(FailedTask(task_id="r", task_name="refused:manna.submit_batch", kwargs={}, error="x", retries=0))
    with session_scope(url) as session:
        states = evaluate(session, config, sqlite_settings)
    assert states == {"transaction_latency_p95_high": "firing", "corrected_label_accuracy_low": "no_data",
                      "cache_hit_rate_low": "firing", "error_rate_high": "firing"}
    with session_scope(url) as session:
        evaluate(session, config, sqlite_settings)  # the same figures again: no new event
        events = [(e.name, e.from_state, e.to_state) for e in session.query(AlertEvent).order_by(AlertEvent.id)]
        assert {s.name: s.state for s in alert_states(session)} == states
    assert events[4:] == [("transaction_latency_p95_high", "no_data", "firing"),
                          ("cache_hit_rate_low", "no_data", "firing"), ("error_rate_high", "no_data", "firing")]
    with session_scope(url) as session:  # reviews arrive: 18 of 20 confirmed is 90%, below 92%
        session.add_all(_review(n, confirmed=n % 10 != 0) for n in range(20))
    with session_scope(url) as session:
        assert evaluate(session, config, sqlite_settings)["corrected_label_accuracy_low"] == "firing"


def test_a_row_committed_late_with_a_lower_id_is_counted_once(sqlite_settings):
    collector = PipelineCollector(sqlite_settings, dict)
    url = sqlite_settings.effective_database_url
    with session_scope(url) as session:
        _chunk(session, 0, total_ms=50.0, cache_hits=0)
        session.add(TaskMetric(id=10, task_id="t10", task_name="manna.categorize_chunk", job_id="j", variant="A",
                               rows=100, total_ms=50.0))
    list(collector.collect())
    with session_scope(url) as session:  # id 5 was handed out before 10 but commits after the scrape
        session.add(TaskMetric(id=5, task_id="t5", task_name="manna.categorize_chunk", job_id="j", variant="A",
                               rows=100, total_ms=50.0))
    list(collector.collect())
    list(collector.collect())
    assert collector.variants["A"].transactions == 300 and collector.variants["A"].tasks == 3


def test_the_prometheus_rules_ask_for_the_same_minimum_sample():
    rules = {r.name: r for r in load_alerts().rules}
    assert rules["cache_hit_rate_low"].prometheus_expr(15).endswith(
        "< 0.5 and (sum(increase(manna_tasks_total[15m]))) >= 20")
    assert 'manna_failed_tasks_total{task!~"refused:.*"}[15m]' in rules["error_rate_high"].prometheus_expr(15)
    assert rules["corrected_label_accuracy_low"].prometheus_expr(15) == "(manna_corrected_label_accuracy) < 0.92"


def _histogram_quantile(q: float, buckets: list[tuple[str, float]]) -> float:
    """Prometheus' histogram_quantile over cumulative buckets: linear inside the bucket holding rank q * total."""
    bounds = [math.inf if le == "+Inf" else float(le) for le, _ in buckets]
    counts = [count for _, count in buckets]
    rank = q * counts[-1]
    i = next(i for i, count in enumerate(counts) if count >= rank)
    if math.isinf(bounds[i]):
        return bounds[i - 1]
    lower, below = (0.0, 0.0) if i == 0 else (bounds[i - 1], counts[i - 1])
    return lower + (bounds[i] - lower) * (rank - below) / (counts[i] - below)


def test_prometheus_histogram_quantile_and_our_p95_fire_on_the_same_data():
    """Values differ (Prometheus interpolates in a bucket); the decision at a bucket bound does not."""
    rule = next(r for r in load_alerts().rules if r.name == "transaction_latency_p95_high")
    assert rule.threshold / 1000.0 in LATENCY_BUCKETS
    rng = np.random.default_rng(11)
    differ, outcomes = 0, set()
    for _ in range(400):
        rows = [{"rows": int(rng.integers(1, 1000)), "queue_wait_ms": float(rng.integers(0, 200)),
                 "total_ms": float(rng.integers(20, 260)), "cache_hits": 0, "cache_errors": 0}
                for _ in range(int(rng.integers(20, 60)))]
        variant = _Variant()
        for row in rows:
            variant.add(row)
        ours = summarize([r | {"variant": "A", "model_version": "m", "rule_hits": 0, "model_hits": r["rows"],
                               "created_at": T0} for r in rows])["transaction_ms"]["p95"]
        theirs = 1000.0 * _histogram_quantile(0.95, variant.latency_seconds.buckets())
        assert rule.state(ours, len(rows)) == ("firing" if theirs > rule.threshold else "ok"), (ours, theirs)
        differ += abs(ours - theirs) > 1.0
        outcomes.add(rule.state(ours, len(rows)))
    assert outcomes == {"firing", "ok"}
    assert differ > 0  # the values are not the same figure; only the decision is
