"""Tasks over their soft and hard time limits, and a child over its memory cap: jobs still end exact.

One worker on a throw-away broker, with limits small enough to hit in seconds (soft 2 s, hard 4 s,
two retries, a 450 MB cap per child) and the fault injector of ``tests/integration/faults.py``.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import pytest
from sqlalchemy import select

from db.engine import session_scope
from db.models import FailedTask
from pipeline.generate import Generator
from tests.integration.conftest import ROOT, ThrowawayRedis, WorkerProcess, stack_env, wait_for_job
from workers.app import create_app
from workers.client import submit_rows


@pytest.fixture(scope="module")
def limited(stack_settings, trained_model, tmp_path_factory):
    """(settings, worker, faults directory) for a worker with small time and memory limits."""
    directory = tmp_path_factory.mktemp("limits")
    broker = ThrowawayRedis(directory)
    broker.start()
    settings = stack_settings.model_copy(update={
        "broker_url": broker.url, "cache_url": None, "task_soft_time_limit": 2, "task_time_limit": 4,
        "task_max_retries": 2, "retry_backoff_max": 2, "worker_max_memory_per_child_kb": 450_000})
    faults = directory / "faults"
    faults.mkdir()
    worker = WorkerProcess(settings, directory / "worker.log", extra_args=("-I", "tests.integration.faults"),
                           extra_env={"MANNA_TEST_FAULTS_DIR": str(faults)})
    yield settings, worker, faults
    worker.stop()
    broker.stop()


def _run_job(settings, faults, rows: int, **tokens: int) -> str:
    for fault, count in tokens.items():
        for n in range(count):
            (faults / f"{fault}.{n}").touch()
    job_id = f"limits-{uuid.uuid4().hex[:8]}"
    submit_rows(create_app(settings), Generator(71).rows(rows, id_prefix=f"{job_id}-"), job_id=job_id,
                source="limits")
    return job_id


def _failures(settings, job_id: str) -> list[FailedTask]:
    with session_scope(settings.effective_database_url) as session:
        failures = session.scalars(select(FailedTask).order_by(FailedTask.id))
        return [f for f in failures if isinstance(f.kwargs, dict) and f.kwargs.get("job_id") == job_id]


def _log_count(worker: WorkerProcess, text: str) -> int:
    return worker.log_path.read_text(errors="replace").count(text)


def _assert_exact(settings, job_id: str, rows: int) -> None:
    job = wait_for_job(settings.effective_database_url, job_id, expected_received=rows, timeout=90)
    assert (job["accepted"], job["labeled"]) == (rows, rows)
    assert job["chunks_done"] == job["chunks_total"] == rows // 1000


def test_soft_time_limit_interrupts_slow_chunks_and_they_retry(limited):
    settings, worker, faults = limited
    before = _log_count(worker, "Soft time limit (2s) exceeded")
    job_id = _run_job(settings, faults, 3_000, stall=2)
    _assert_exact(settings, job_id, 3_000)
    assert _log_count(worker, "Soft time limit (2s) exceeded") - before == 2
    assert _failures(settings, job_id) == []


def test_hard_time_limit_kills_a_stuck_chunk_and_it_is_sent_again(limited):
    settings, worker, faults = limited
    before = _log_count(worker, "Hard time limit (4s) exceeded")
    job_id = _run_job(settings, faults, 2_000, hang=1)
    _assert_exact(settings, job_id, 2_000)
    assert _log_count(worker, "Hard time limit (4s) exceeded") - before == 1
    (failure,) = _failures(settings, job_id)  # recorded, and already re-driven
    assert "TimeLimitExceeded" in failure.error and failure.redriven_at is not None


def test_a_chunk_that_always_hangs_ends_pending_in_failed_tasks_then_redrive_finishes_it(limited):
    settings, _worker, faults = limited
    job_id = _run_job(settings, faults, 1_000, hang=3)  # the first run and both re-drives hang
    failures: list[FailedTask] = []
    deadline = time.monotonic() + 60
    while not any(f.redriven_at is None for f in failures) and time.monotonic() < deadline:
        time.sleep(0.5)
        failures = _failures(settings, job_id)
    assert [f.redriven_at is None for f in failures] == [False, False, True]
    assert len({f.task_id for f in failures}) == 1
    redrive = subprocess.run([sys.executable, "-m", "cli", "failed", "redrive", str(failures[-1].id)], cwd=ROOT,
                             env=stack_env(settings), capture_output=True, text=True, timeout=60)
    assert redrive.returncode == 0, redrive.stderr
    _assert_exact(settings, job_id, 1_000)


def test_a_child_over_its_memory_cap_is_replaced_after_its_task(limited):
    settings, worker, faults = limited
    children_before = set(worker.children())
    crashes_before = _log_count(worker, "WorkerLostError")
    log_start = len(worker.log_path.read_bytes())
    job_id = _run_job(settings, faults, 4_000, bloat=1)
    _assert_exact(settings, job_id, 4_000)
    # billiard's "exceeding memory limit" warning goes to a logger Celery does not show: watch the children.
    deadline = time.monotonic() + 15
    while children_before <= set(worker.children()) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)  # a second, wrongful replacement would show up by now
    replaced = children_before - set(worker.children())
    # When this fails, say what else could have replaced a child: a time limit, a lost worker.
    suspects = [line for line in worker.log_path.read_bytes()[log_start:].decode(errors="replace").splitlines()
                if any(word in line for word in ("time limit", "WorkerLostError", "exited", "signal"))]
    bloated = (faults / "pids" / "bloat").read_text()
    assert len(replaced) == 1, f"exactly the bloated child ({bloated}) was replaced, not {replaced}: {suspects[-10:]}"
    assert _log_count(worker, "WorkerLostError") == crashes_before, "the child left between tasks, not mid-task"
