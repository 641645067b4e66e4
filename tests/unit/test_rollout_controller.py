"""The rollout controller on SQLite: steps through the phases, completes, rolls back, never steps twice."""

from __future__ import annotations

import datetime as dt

import pytest

from db.engine import session_scope
from db.models import AlertEvent, FailedTask, TaskMetric
from db.registry import load_experiment
from db.rollouts import move, open_rollout
from pipeline.model import train_model
from services import training
from services.rollout import control, evaluate, start, status
from services.training import train_default_model

POLICY = """
phases: [10, 25, 50, 75, 100]
promote: {min_predictions: 200, max_error_rate_difference: 0.02, min_p95_improvement: -0.5, max_accuracy_drop: 0.05,
          min_reviews: 20}
rollback:
  p95_ms: {above: 400, for_minutes: 1}
  error_rate: {above: 0.10, for_minutes: 1}
  accuracy_drop: {above: 0.05}
  cache_errors: {above: 0.5, for_minutes: 1}
"""


@pytest.fixture(scope="module")
def fitted() -> dict:
    """Models fitted in this module, by their training data: each test saves and registers its own copy."""
    return {}


@pytest.fixture
def models(sqlite_settings, tmp_path, fitted, monkeypatch):
    def fit_once(texts, amounts, labels, groups, **options):
        key = (tuple(texts), tuple(amounts), tuple(labels), tuple(groups), repr(sorted(options.items())))
        if key not in fitted:
            fitted[key] = train_model(texts, amounts, labels, groups, **options)
        return fitted[key]

    monkeypatch.setattr(training, "train_model", fit_once)  # the same fit for the same rows: one per module
    active = train_default_model(sqlite_settings, rows=600, seed=1, activate=True)
    candidate = train_default_model(sqlite_settings, rows=600, seed=2, activate=False)
    (tmp_path / "policy.yaml").write_text(POLICY)
    return active, candidate, str(tmp_path / "policy.yaml")


def _traffic(settings, n: int, *, total_ms: float = 50.0, failed_b: int = 0) -> None:
    """Chunks of 100 rows for each variant, as the workers would record them."""
    with session_scope(settings.effective_database_url) as session:
        for variant in ("A", "B"):
            for i in range(n):
                session.add(TaskMetric(task_id=f"{variant}-{dt.datetime.now().timestamp()}-{i}",
                                       task_name="manna.categorize_chunk", job_id="j", variant=variant, rows=100,
                                       total_ms=total_ms, queue_wait_ms=1.0, cache_errors=0,
                                       created_at=dt.datetime.now(dt.UTC)))
        for i in range(failed_b):
            session.add(FailedTask(task_id=f"f{i}", task_name="manna.categorize_chunk", kwargs={}, error="boom",
                                   retries=3, variant="B", failed_at=dt.datetime.now(dt.UTC)))


def test_a_good_candidate_walks_every_phase_and_becomes_active(sqlite_settings, models):
    active, candidate, policy = models
    state = start(sqlite_settings, candidate=candidate, actor="cli:ann", policy=policy)
    assert (state["state"], state["percent"]) == ("running", 10.0)
    assert set(state["baseline"]) == {active, candidate}
    assert evaluate(sqlite_settings)["decision"] == "hold"  # no traffic yet
    shares = []
    for _ in range(5):
        _traffic(sqlite_settings, 3)
        verdict = evaluate(sqlite_settings)
        shares.append((verdict["decision"], status(sqlite_settings)["percent"]))
    assert shares == [("advance", 25.0), ("advance", 50.0), ("advance", 75.0), ("advance", 100.0),
                      ("complete", 100.0)]
    final = status(sqlite_settings)
    assert final["state"] == "completed" and evaluate(sqlite_settings) is None
    assert [e["decision"] for e in final["events"]] == [
        "start", "hold", "advance", "advance", "advance", "advance", "complete"]
    with session_scope(sqlite_settings.effective_database_url) as session:
        experiment = load_experiment(session)
    assert (experiment.active_version, experiment.candidate_version) == (candidate, None)


def test_failing_candidate_chunks_roll_it_back_at_once_with_an_alert(sqlite_settings, models):
    _active, candidate, policy = models
    start(sqlite_settings, candidate=candidate, actor="cli:ann", policy=policy)
    _traffic(sqlite_settings, 3, failed_b=2)  # 2 of 5 candidate runs failed: 40% > 10%
    verdict = evaluate(sqlite_settings)
    assert verdict["decision"] == "rollback" and "error_rate" in verdict["reason"]
    with session_scope(sqlite_settings.effective_database_url) as session:
        experiment = load_experiment(session)
        alerts = [a.name for a in session.query(AlertEvent)]
    assert (experiment.candidate_version, experiment.candidate_percent) == (candidate, 0)
    assert alerts == ["rollout_rolled_back"] and status(sqlite_settings)["state"] == "rolled_back"


def test_a_step_is_taken_once_however_many_controllers_see_it(sqlite_settings, models):
    _active, candidate, policy = models
    start(sqlite_settings, candidate=candidate, actor="cli:ann", policy=policy)
    with session_scope(sqlite_settings.effective_database_url) as session:
        rollout = open_rollout(session)
        assert move(session, rollout, from_phase=0, to_phase=1, state="running")
        assert not move(session, rollout, from_phase=0, to_phase=1, state="running")  # a second beat, same view
    assert status(sqlite_settings)["phase"] == 1


def test_pause_resume_abort_and_one_rollout_at_a_time(sqlite_settings, models):
    active, candidate, policy = models
    start(sqlite_settings, candidate=candidate, actor="cli:ann", policy=policy)
    with pytest.raises(ValueError, match="is running: `manna rollout abort` it first"):
        start(sqlite_settings, candidate=candidate, actor="cli:ann", policy=policy)
    assert control(sqlite_settings, "pause", actor="api:ops")["state"] == "paused"
    _traffic(sqlite_settings, 3)
    assert evaluate(sqlite_settings) is None  # paused: no step
    with pytest.raises(ValueError, match="cannot pause"):
        control(sqlite_settings, "pause", actor="api:ops")
    assert control(sqlite_settings, "resume", actor="api:ops")["state"] == "running"
    aborted = control(sqlite_settings, "abort", actor="api:ops")
    assert (aborted["state"], aborted["percent"]) == ("aborted", 0.0)
    assert [(e["decision"], e["actor"]) for e in aborted["events"]][-3:] == [
        ("manual:pause", "api:ops"), ("manual:resume", "api:ops"), ("manual:abort", "api:ops")]
    with pytest.raises(ValueError, match="active model already"):
        start(sqlite_settings, candidate=active, actor="cli:ann", policy=policy)


def _reviews(settings, variant: str, n: int, *, confirmed: bool) -> None:
    """Users reviewing labels a model decided: confirmations, or corrections."""
    from db.models import Correction

    with session_scope(settings.effective_database_url) as session:
        session.add_all(Correction(
            source="s", transaction_id=f"{variant}{i}-{confirmed}", category="c" if confirmed else "d",
            kind="confirmation" if confirmed else "correction", new_category=False, merchant_key="k", direction=-1,
            previous_category="c", previous_decided_by="model", previous_confidence=0.9, model_version="m",
            variant=variant, channel="api", created_at=dt.datetime.now(dt.UTC)) for i in range(n))


def test_user_corrections_of_the_candidates_labels_roll_it_back_for_accuracy(sqlite_settings, models):
    _active, candidate, policy = models
    start(sqlite_settings, candidate=candidate, actor="cli:ann", policy=policy)
    _traffic(sqlite_settings, 1)
    assert evaluate(sqlite_settings)["decision"] == "hold"  # the standard baselines are close: no trigger
    _reviews(sqlite_settings, "A", 25, confirmed=True)
    _reviews(sqlite_settings, "B", 10, confirmed=True)
    _reviews(sqlite_settings, "B", 15, confirmed=False)  # reviewers correct 15 of the candidate's 25
    verdict = evaluate(sqlite_settings)
    assert verdict["decision"] == "rollback"
    assert verdict["reason"] == "accuracy 0.400 is more than 5% below the active model's 1.000"
