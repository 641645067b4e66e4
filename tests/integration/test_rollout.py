"""The rollout controller on the real stack: a worker, beat every second, traffic flowing.

A good candidate walks 10 -> 25 -> 50 -> 75 -> 100 and becomes active, one logged decision per
step. A candidate trained with every category renamed to another is rolled back for accuracy (the
standard set); one that users keep correcting is rolled back for accuracy (their reviews); one
whose chunks fail is rolled back for errors, its failed chunks are re-driven to the active model,
and after a rollback no chunk goes to the candidate.
"""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
import uuid

import pytest
from sqlalchemy import text

from db.engine import session_scope
from db.registry import load_experiment, register_model, set_candidate
from pipeline.generate import Generator
from pipeline.model import save_model, train_model
from pipeline.normalize import feature_text, merchant_key
from services.models import activate
from services.rollout import control, start, status
from services.training import train_default_model
from tests.integration.conftest import ROOT, stack_env, wait_for_job
from workers.client import submit_rows

POLICY = """
phases: [10, 25, 50, 75, 100]
promote: {min_predictions: 300, max_error_rate_difference: 0.02, min_p95_improvement: -1.0, max_accuracy_drop: 0.05,
          min_reviews: 20}
rollback:
  p95_ms: {above: 60000, for_minutes: 0.5}
  error_rate: {above: 0.10, for_minutes: 0.5}
  accuracy_drop: {above: 0.05}
  cache_errors: {above: 0.5, for_minutes: 0.5}
"""


@pytest.fixture(scope="module")
def beat(stack_settings, worker, tmp_path_factory):
    """celery beat sending manna.evaluate_rollout every second (the session's worker serves it)."""
    directory = tmp_path_factory.mktemp("beat")
    env = {**stack_env(stack_settings), "MANNA_ROLLOUT_INTERVAL_SECONDS": "1"}
    with (directory / "beat.log").open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "celery", "-A", "workers.app", "beat", "-s",
                                    str(directory / "schedule"), "--loglevel", "INFO"], cwd=ROOT, env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
    yield process
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture
def policy(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    return str(path)


class Traffic:
    """Jobs of 1,000 rows in messages of 100 (chunks of 100), sent until stopped."""

    def __init__(self, producer, source: str) -> None:
        self.producer, self.source, self.jobs = producer, source, []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        seed = random.randrange(10_000)
        while not self.stopping.is_set():
            job_id = f"{self.source}-{uuid.uuid4().hex[:8]}"
            submit_rows(self.producer, Generator(seed + len(self.jobs)).rows(1_000, id_prefix=f"{job_id}-"),
                        job_id=job_id, source=self.source, max_per_message=100)
            self.jobs.append(job_id)
            time.sleep(0.2)

    def stop(self) -> list[str]:
        self.stopping.set()
        self.thread.join(timeout=30)
        return self.jobs


def _finished(settings, timeout: float = 180.0) -> dict:
    """Wait for the rollout to end; fail with its last events if it does not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = status(settings)
        if state["state"] in ("completed", "rolled_back", "aborted"):
            return state
        time.sleep(0.5)
    raise AssertionError(f"the rollout did not end in {timeout} s: {state['state']}, "
                         f"{[(e['decision'], e['reason']) for e in state['events'][-4:]]}")


def _restore(settings, active: str) -> None:
    activate(settings, active, actor="test", force=True)
    with session_scope(settings.effective_database_url) as session:
        set_candidate(session, None, 0)


def test_a_good_candidate_walks_every_phase_and_becomes_active(beat, producer, stack_settings, trained_model,
                                                              candidate_model, policy):
    candidate = candidate_model
    start(stack_settings, candidate=candidate, actor="test", policy=policy)
    traffic = Traffic(producer, "rollout-good")
    try:
        final = _finished(stack_settings)
    finally:
        jobs = traffic.stop()
        _restore(stack_settings, trained_model)
    steps = [(e["decision"], e["percent"]) for e in final["events"] if e["decision"] != "hold"]
    assert final["state"] == "completed", final["events"][-3:]
    assert steps == [("start", 10), ("advance", 25), ("advance", 50), ("advance", 75), ("advance", 100),
                     ("complete", 100)]
    for job_id in jobs:
        wait_for_job(stack_settings.effective_database_url, job_id, expected_received=1_000)


def test_a_candidate_trained_on_renamed_labels_is_rolled_back_for_accuracy(
        beat, producer, stack_settings, trained_model, policy):
    # Every category renamed to the next one: a model as wrong as shuffled labels, which (unlike
    # shuffled labels, 2 minutes of fits that never converge) trains in seconds.
    rows = Generator(5).rows(6_000)
    categories = sorted({r["category"] for r in rows})
    renamed = dict(zip(categories, categories[1:] + categories[:1], strict=True))
    version = _register_model(stack_settings, rows, [renamed[r["category"]] for r in rows], "renamed labels")
    start(stack_settings, candidate=version, actor="test", policy=policy)
    traffic = Traffic(producer, "rollout-renamed")
    try:
        final = _finished(stack_settings)
    finally:
        traffic.stop()
        _restore(stack_settings, trained_model)
    rollback = final["events"][-1]
    assert (final["state"], rollback["decision"]) == ("rolled_back", "rollback")
    assert "accuracy" in rollback["reason"] and rollback["percent"] == 0
    _report_lag(stack_settings.effective_database_url, rollback)


def test_a_candidate_that_users_keep_correcting_is_rolled_back_for_accuracy(
        beat, producer, stack_settings, trained_model, tmp_path):
    """The candidate calls every coffee shop a restaurant: the standard set barely notices (coffee is a few
    percent of it), the users reviewing a coffee-heavy source do, and their corrections roll it back."""
    rows = Generator(5).rows(6_000)
    labels = ["food.restaurants" if r["category"] == "food.coffee" else r["category"] for r in rows]
    version = _register_model(stack_settings, rows, labels, "coffee labeled as restaurants")
    coffee = [r for r in Generator(12).rows(60_000) if r["category"] == "food.coffee"]
    truth = {}
    policy = tmp_path / "policy.yaml"  # it never advances (too few predictions): only accuracy can end it
    policy.write_text(POLICY.replace("min_predictions: 300", "min_predictions: 10000000"))
    state = start(stack_settings, candidate=version, actor="test", policy=str(policy))
    assert abs(state["baseline"][trained_model] - state["baseline"][version]) < 0.05  # the standard set passes it
    stop = threading.Event()

    def users() -> None:
        from services.feedback import record_feedback

        while not stop.is_set():
            job_id = f"coffee-{uuid.uuid4().hex[:8]}"
            batch = [{**r, "id": f"{job_id}-{i}"} for i, r in enumerate(random.sample(coffee, 500))]
            truth.update({r["id"]: r["category"] for r in batch})
            submit_rows(producer, batch, job_id=job_id, source="rollout-coffee", max_per_message=50)
            time.sleep(1.0)
            with session_scope(stack_settings.effective_database_url) as session:
                unreviewed = session.execute(text(
                    "SELECT transaction_id FROM labels l WHERE source = 'rollout-coffee' "
                    "AND decided_by IN ('model', 'cache') AND rule_id IS NULL "
                    "AND NOT EXISTS (SELECT 1 FROM corrections c WHERE c.source = l.source "
                    "AND c.transaction_id = l.transaction_id) LIMIT 200")).scalars().all()
            record_feedback(stack_settings, [{"source": "rollout-coffee", "transaction_id": tid,
                                              "category": truth[tid], "reviewer": "user"} for tid in unreviewed])

    reviewer = threading.Thread(target=users, daemon=True)
    reviewer.start()
    try:
        final = _finished(stack_settings)
    finally:
        stop.set()
        reviewer.join(timeout=60)
        _restore(stack_settings, trained_model)
    rollback = final["events"][-1]
    assert (final["state"], rollback["decision"]) == ("rolled_back", "rollback")
    assert rollback["reason"].startswith("accuracy"), rollback["reason"]
    live = rollback["figures"]["candidate"]["accuracy"]
    assert live < state["baseline"][version] - 0.05  # the users' figure, not the standard set's
    _report_lag(stack_settings.effective_database_url, rollback)


def _report_lag(url: str, rollback: dict) -> None:
    """Print the time from the rollback to the candidate's last chunk (committed or failed): the figure asked for."""
    with session_scope(url) as session:
        last = session.execute(text(
            "SELECT max(at) FROM (SELECT max(created_at) AS at FROM task_metrics WHERE variant = 'B' "
            "UNION ALL SELECT max(failed_at) FROM failed_tasks WHERE variant = 'B') AS candidate_chunks")).scalar()
    lag = (last - rollback["at"]).total_seconds()
    print(f"\nrolled back ({rollback['reason']}) at {rollback['at']:%H:%M:%S.%f}; the candidate's last chunk "
          f"ended {lag:+.3f} s from then")


def test_a_candidate_whose_chunks_fail_is_rolled_back_and_nothing_is_lost(
        beat, producer, stack_settings, trained_model, policy):
    url = stack_settings.effective_database_url
    candidate = train_default_model(stack_settings, rows=6_000, seed=4, activate=False)
    artifact = stack_settings.effective_model_dir / candidate / "model.joblib"
    intact = artifact.read_bytes()
    artifact.write_bytes(intact + b"tampered")
    with pytest.raises(ValueError, match="cannot be served: refusing"):  # a rollout checks its candidate first
        start(stack_settings, candidate=candidate, actor="test", policy=policy)
    artifact.write_bytes(intact)
    start(stack_settings, candidate=candidate, actor="test", policy=policy)
    artifact.write_bytes(intact + b"tampered")  # then it breaks: every worker refuses to load it
    traffic = Traffic(producer, "rollout-failing")
    try:
        final = _finished(stack_settings)
    finally:
        jobs = traffic.stop()
    rollback = final["events"][-1]
    assert final["state"] == "rolled_back" and "error_rate" in rollback["reason"], rollback
    with session_scope(url) as session:
        assert load_experiment(session).candidate_percent == 0
    # No chunk goes to the candidate any more: a new job is served by the active model only.
    after = f"after-rollback-{uuid.uuid4().hex[:8]}"
    submit_rows(producer, Generator(9).rows(2_000, id_prefix=f"{after}-"), job_id=after, source="rollout-failing",
                max_per_message=100)
    wait_for_job(url, after, expected_received=2_000)
    with session_scope(url) as session:
        variants = set(session.execute(text("SELECT DISTINCT variant FROM labels WHERE job_id = :j"), {"j": after})
                       .scalars())
        failed = session.execute(text("SELECT count(*) FROM failed_tasks WHERE variant = 'B' AND redriven_at IS NULL"
                                      )).scalar()
    assert variants == {"A"} and failed > 0
    _report_lag(url, rollback)
    # The candidate's failed chunks are sent again: the active model labels them, every job ends exact.
    redrive = subprocess.run([sys.executable, "-m", "cli", "failed", "redrive", "--all"], cwd=ROOT,
                             env=stack_env(stack_settings), capture_output=True, text=True, timeout=120)
    assert redrive.returncode == 0, redrive.stderr
    for job_id in jobs:
        job = wait_for_job(url, job_id, expected_received=1_000)
        assert job["labeled"] == 1_000
    _restore(stack_settings, trained_model)
    control_abort_is_refused = pytest.raises(LookupError, match="no rollout is running")
    with control_abort_is_refused:
        control(stack_settings, "abort", actor="test")


def _register_model(settings, rows, labels, data: str) -> str:
    """A model trained on ``rows`` with these ``labels``, saved and registered (not serving); its version."""
    model = train_model([feature_text(r["description"]) for r in rows], [float(r["amount"]) for r in rows], labels,
                        [merchant_key(r["description"]) for r in rows])
    version, digest, _ = save_model(model, settings.effective_model_dir)
    with session_scope(settings.effective_database_url) as session:
        register_model(session, version=version, sha256=digest, artifact_path=version,
                       training_summary={"data": data}, metrics=model.metrics)
    return version
