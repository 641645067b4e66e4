"""Job completion, callbacks by name, A/B variants and failures, through a real worker process."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import uuid

import redis
from sqlalchemy import func, select

from db.engine import session_scope
from db.models import FailedTask, Label
from db.registry import load_experiment, set_candidate
from pipeline.generate import Generator
from pipeline.variant import assign_variant
from tests.integration.conftest import ROOT, stack_env, wait_for_job
from workers.client import queue_for, submit_rows
from workers.monitor import answering_workers


def _callbacks(broker_url: str, queue: str, name: str) -> list[dict]:
    found = []
    for raw in redis.Redis.from_url(broker_url).lrange(queue, 0, -1):
        message = json.loads(raw)
        if message["headers"].get("task") == name:
            _args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
            found.append(kwargs)
    return found


def test_job_finishes_by_counter_and_sends_its_callback_once(worker, producer, stack_settings):
    job_id = f"cb-{uuid.uuid4().hex[:8]}"
    rows = Generator(31).rows(2_300, id_prefix=f"{job_id}-")
    submit_rows(producer, rows, job_id=job_id, source="cb", callback="ingestion.job_finished")
    job = wait_for_job(stack_settings.effective_database_url, job_id, expected_received=2_300)
    chunks = 2 * -(-1_000 // stack_settings.chunk_size) + -(-300 // stack_settings.chunk_size)
    assert (job["messages"], job["chunks_total"], job["labeled"]) == (3, chunks, 2_300)
    time.sleep(0.5)  # the callback is sent right after the commit that finished the job
    sent = _callbacks(stack_settings.effective_broker_url, stack_settings.callback_queue, "ingestion.job_finished")
    assert [c for c in sent if c["job_id"] == job_id] == [{"job_id": job_id, "source": "cb", "status": "finished"}]


def test_variants_follow_the_split_and_a_forced_variant_wins(worker, producer, stack_settings, trained_model,
                                                             candidate_model):
    url = stack_settings.effective_database_url
    candidate = candidate_model
    with session_scope(url) as session:
        set_candidate(session, candidate, 50)
    try:
        split_job, forced_job = f"ab-{uuid.uuid4().hex[:8]}", f"forced-{uuid.uuid4().hex[:8]}"
        # 32 chunks: at a 50% split, all on one side has odds of 2 in 2^32 (with the 8 of before, 1 in 128)
        submit_rows(producer, Generator(41).rows(8_000, id_prefix=f"{split_job}-"), job_id=split_job, source="ab",
                    max_per_message=250)
        submit_rows(producer, Generator(42).rows(1_000, id_prefix=f"{forced_job}-"), job_id=forced_job,
                    source="ab", force_variant="candidate")
        wait_for_job(url, split_job, expected_received=8_000)
        wait_for_job(url, forced_job, expected_received=1_000)
        with session_scope(url) as session:
            split = session.execute(select(Label.task_id, Label.variant, Label.model_version, Label.decided_by)
                                    .where(Label.job_id == split_job).distinct()).all()
            forced = set(session.execute(select(Label.variant, Label.model_version)
                                         .where(Label.job_id == forced_job, Label.decided_by == "model")))
            experiment = load_experiment(session)
        assert forced == {("B", candidate)}
        variants = {task_id: variant for task_id, variant, _, _ in split}
        assert set(variants.values()) == {"A", "B"}, (experiment, len(variants))
        assert all(assign_variant(t, experiment) == v for t, v in variants.items())
        served = {(v, m) for _, v, m, by in split if by == "model"}
        assert served == {("A", trained_model), ("B", candidate)}
    finally:
        with session_scope(url) as session:
            set_candidate(session, None, 0)


def test_a_message_that_breaks_the_contract_lands_in_failed_tasks_without_retries(worker, producer, stack_settings):
    bad_job = {"job_id": 12345, "transactions": []}
    bad_chunk = {"job_id": "x", "source": "s", "transactions": [{"id": "only-an-id"}]}
    job_task_id, chunk_id = f"poison-{uuid.uuid4().hex[:8]}", f"poison-{uuid.uuid4().hex[:8]}"
    producer.send_task("manna.submit_batch", kwargs=bad_job, queue="ingest", task_id=job_task_id)
    producer.send_task("manna.categorize_chunk", kwargs=bad_chunk, queue="categorize", task_id=chunk_id)
    deadline = time.monotonic() + 30
    rows: list = []
    while time.monotonic() < deadline and len(rows) < 2:
        with session_scope(stack_settings.effective_database_url) as session:
            rows = session.execute(select(FailedTask.task_name, FailedTask.error, FailedTask.retries, FailedTask.kwargs)
                                   .where(FailedTask.task_id.in_([job_task_id, chunk_id]))
                                   .order_by(FailedTask.id)).all()
        time.sleep(0.3)
    by_name = {name: (error, retries, kwargs) for name, error, retries, kwargs in rows}
    assert "job_id must be a non-empty string" in by_name["manna.submit_batch"][0]
    assert by_name["manna.submit_batch"][2] == bad_job
    assert "KeyError" in by_name["manna.categorize_chunk"][0] and by_name["manna.categorize_chunk"][1] == 0
    with session_scope(stack_settings.effective_database_url) as session:
        assert session.scalar(select(func.count()).select_from(FailedTask).where(FailedTask.task_id == chunk_id)) == 1


def test_the_alert_task_runs_on_the_worker_and_records_each_rules_state(worker, producer, stack_settings):
    from db.alerts import alert_states
    from db.feedback import recent_accuracy
    from pipeline.alerts import load_alerts

    producer.send_task("manna.evaluate_alerts", queue="ingest")
    deadline, states = time.monotonic() + 30, []
    while len(states) < len(load_alerts().rules) and time.monotonic() < deadline:
        time.sleep(0.3)
        with session_scope(stack_settings.effective_database_url) as session:
            states = [(s.name, s.state) for s in alert_states(session)]
    assert {name for name, _ in states} == {rule.name for rule in load_alerts().rules}
    with session_scope(stack_settings.effective_database_url) as session:  # reviews of other tests count too
        accuracy = recent_accuracy(session, stack_settings)["accuracy"]
    expected = "no_data" if accuracy is None else "firing" if accuracy < 0.92 else "ok"
    assert dict(states)["corrected_label_accuracy_low"] == expected
    assert all(state in {"ok", "firing", "no_data"} for _, state in states)


def test_a_small_message_takes_the_latency_lane_which_every_ingest_worker_serves(worker, producer, stack_settings):
    # The fixture's worker was started with `-Q ingest,categorize` only, as the contract says.
    served = answering_workers(producer, timeout=5.0) or {}
    ingest_workers = {name: queues for name, queues in served.items() if "ingest" in queues}
    assert ingest_workers and all("latency" in queues for queues in ingest_workers.values()), served
    job_id = f"lane-{uuid.uuid4().hex[:8]}"
    assert queue_for(3, stack_settings) == "latency"
    submit_rows(producer, Generator(33).rows(3, id_prefix=f"{job_id}-"), job_id=job_id, source="lane")
    job = wait_for_job(stack_settings.effective_database_url, job_id, expected_received=3)
    assert (job["accepted"], job["labeled"], job["chunks_total"]) == (3, 3, 1)


def test_manna_status_shows_queues_workers_and_the_last_hour(worker, producer, stack_settings):
    job_id = f"status-{uuid.uuid4().hex[:8]}"
    submit_rows(producer, Generator(97).rows(1_000, id_prefix=f"{job_id}-"), job_id=job_id, source="status")
    wait_for_job(stack_settings.effective_database_url, job_id, expected_received=1_000)
    done = subprocess.run([sys.executable, "-m", "cli", "status", "--json"], cwd=ROOT, env=stack_env(stack_settings),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert set(data["queues"]) >= {"ingest", "latency", "categorize", "unacked"}
    assert any(name.startswith("test-") for name in data["workers"])
    assert data["last_hour"]["transactions"] >= 1_000 and data["per_variant"][0]["variant"] in {"A", "B"}
    table = subprocess.run([sys.executable, "-m", "cli", "status"], cwd=ROOT, env=stack_env(stack_settings),
                           capture_output=True, text=True, timeout=60)
    assert table.returncode == 0 and "last hour per variant" in table.stdout
