"""Alert rules: one configuration, evaluated by the beat task's code, and the same rules for Prometheus."""

import re
from pathlib import Path

import yaml
from click.testing import CliRunner
from prometheus_client import CollectorRegistry, generate_latest

from api.prometheus import PipelineCollector
from cli.main import main
from db.alerts import alert_states, evaluate
from db.engine import session_scope
from db.models import AlertEvent, Correction, FailedTask, TaskMetric
from pipeline.alerts import load_alerts

ROOT = Path(__file__).resolve().parents[2]
RULES_FILE = ROOT / "deploy" / "prometheus" / "alerts.yml"


def test_the_seeds_thresholds_are_the_rules():
    rules = {r.name: r for r in load_alerts().rules}
    assert (rules["transaction_latency_p95_high"].threshold, rules["transaction_latency_p95_high"].fires_above) == (
        300, True)
    assert (rules["corrected_label_accuracy_low"].threshold, rules["corrected_label_accuracy_low"].fires_above) == (
        0.92, False)
    assert (rules["cache_hit_rate_low"].threshold, rules["cache_hit_rate_low"].fires_above) == (0.5, False)
    assert (rules["error_rate_high"].threshold, rules["error_rate_high"].fires_above) == (0.05, True)
    assert rules["cache_hit_rate_low"].state(0.49) == "firing" and rules["cache_hit_rate_low"].state(0.5) == "ok"
    assert rules["error_rate_high"].state(None) == "no_data"


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


def test_state_changes_are_recorded_once_each(sqlite_settings):
    url, config = sqlite_settings.effective_database_url, load_alerts()
    with session_scope(url) as session:
        assert evaluate(session, config, sqlite_settings)["transaction_latency_p95_high"] == "no_data"
    with session_scope(url) as session:
        for n in range(10):
            _chunk(session, n, total_ms=800.0, cache_hits=10)
        session.add(FailedTask(task_id="f", task_name="manna.categorize_chunk", kwargs={}, error="x", retries=3))
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
