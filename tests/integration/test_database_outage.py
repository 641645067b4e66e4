"""Postgres crashes mid-job: within the retry budget the job finishes by itself; past it, the work
is recorded as failed (spooled while the database is down) and ``manna failed redrive`` finishes it.

A throw-away PostgreSQL server and broker of the test's own; the server is stopped with an
immediate shutdown (connections cut, crash recovery at the next start).
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import pytest
from sqlalchemy import select

from db.engine import dispose_engines, session_scope
from db.migrate import upgrade
from db.models import FailedTask, ModelVersion
from db.registry import activate_model, register_model
from pipeline.generate import Generator
from tests.integration.conftest import (
    ROOT,
    ThrowawayPostgres,
    ThrowawayRedis,
    WorkerProcess,
    label_counts,
    stack_env,
    wait_for_job,
)
from workers.app import create_app
from workers.client import submit_rows

ROWS = 20_000


@pytest.fixture
def outage_stack(stack_settings, trained_model, tmp_path):
    """Settings on a throw-away Postgres (migrated, the session's model active) and broker."""
    server, broker = ThrowawayPostgres(), ThrowawayRedis(tmp_path)
    server.start()
    broker.start()
    settings = stack_settings.model_copy(update={"database_url": server.url, "broker_url": broker.url,
                                                 "cache_url": None, "data_dir": tmp_path,
                                                 "model_dir": stack_settings.effective_model_dir})
    upgrade(settings.effective_database_url)
    with session_scope(stack_settings.effective_database_url) as session:
        model = session.get(ModelVersion, trained_model)
        assert model is not None
    with session_scope(settings.effective_database_url) as session:
        register_model(session, version=model.version, sha256=model.artifact_sha256,
                       artifact_path=model.artifact_path,
                       training_summary=model.training_summary, metrics=model.metrics)
        activate_model(session, model.version)
    yield settings, server
    dispose_engines()
    broker.stop()
    server.destroy()


def _crash_mid_job(settings, server: ThrowawayPostgres, job_id: str, outage_seconds: float) -> None:
    url = settings.effective_database_url
    submit_rows(create_app(settings), Generator(73).rows(ROWS, id_prefix=f"{job_id}-"), job_id=job_id,
                source="outage")
    deadline = time.monotonic() + 60
    while label_counts(url, job_id)[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    dispose_engines()  # this process's connections die with the server; the worker's must recover alone
    server.crash()
    time.sleep(outage_seconds)
    server.start()


def _assert_exact(settings, job_id: str) -> None:
    job = wait_for_job(settings.effective_database_url, job_id, expected_received=ROWS, timeout=120)
    assert (job["received"], job["accepted"], job["labeled"]) == (ROWS, ROWS, ROWS)
    assert job["chunks_done"] == job["chunks_total"] == ROWS // 1000
    assert label_counts(settings.effective_database_url, job_id) == (ROWS, ROWS)


def test_postgres_down_for_10_seconds_mid_job_delays_the_job_and_loses_nothing(outage_stack, tmp_path):
    settings, server = outage_stack
    settings = settings.model_copy(update={"task_max_retries": 6, "retry_backoff_max": 4})
    assert settings.retry_budget_seconds > 15, "the budget must outlast the outage and the restart"
    worker = WorkerProcess(settings, tmp_path / "worker.log")
    try:
        job_id = f"pg-down-{uuid.uuid4().hex[:8]}"
        _crash_mid_job(settings, server, job_id, outage_seconds=10)
        _assert_exact(settings, job_id)
    finally:
        worker.stop()
    log = worker.log_path.read_text(errors="replace")
    assert "OperationalError" in log and "retry: Retry in" in log, "the outage must have been felt and retried"
    with session_scope(settings.effective_database_url) as session:
        assert session.scalar(select(FailedTask.id).limit(1)) is None
    assert not settings.failure_spool.exists()


def test_postgres_down_past_the_retry_budget_fails_loudly_and_redrive_finishes_the_job(outage_stack, tmp_path):
    settings, server = outage_stack
    settings = settings.model_copy(update={"task_max_retries": 2, "retry_backoff_max": 2})
    assert settings.retry_budget_seconds < 5
    worker = WorkerProcess(settings, tmp_path / "worker.log")
    try:
        job_id = f"pg-gone-{uuid.uuid4().hex[:8]}"
        _crash_mid_job(settings, server, job_id, outage_seconds=8)
        spooled = settings.failure_spool.read_text().splitlines()
        assert spooled, "failures during the outage must be spooled, not dropped"
        assert "failed for good" in worker.log_path.read_text(errors="replace")
        listed = subprocess.run([sys.executable, "-m", "cli", "failed", "list"], cwd=ROOT, env=stack_env(settings),
                                capture_output=True, text=True, timeout=60)
        assert listed.returncode == 0 and f"imported {len(spooled)} failure" in listed.stderr, listed.stderr
        redrive = subprocess.run([sys.executable, "-m", "cli", "failed", "redrive", "--all"], cwd=ROOT,
                                 env=stack_env(settings), capture_output=True, text=True, timeout=60)
        assert redrive.returncode == 0, redrive.stderr
        _assert_exact(settings, job_id)
    finally:
        worker.stop()
