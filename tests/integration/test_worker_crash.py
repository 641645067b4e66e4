"""A pool child killed with SIGKILL mid-chunk: the job still finishes with exact counts."""

from __future__ import annotations

import os
import signal
import time
import uuid

from sqlalchemy import text

from db.engine import session_scope
from pipeline.generate import Generator
from tests.integration.conftest import wait_for_job
from workers.client import submit_rows


def _busy_child_pid(app, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for tasks in (app.control.inspect(timeout=0.5).active() or {}).values():
            for task in tasks:
                if task["name"] == "manna.categorize_chunk" and task.get("worker_pid"):
                    return int(task["worker_pid"])
        time.sleep(0.05)
    raise AssertionError("no chunk was ever seen running")


def test_sigkill_of_a_busy_child_loses_and_duplicates_nothing(worker, producer, stack_settings):
    job_id = f"crash-{uuid.uuid4().hex[:8]}"
    rows = Generator(23).rows(20_000, id_prefix=f"{job_id}-")
    submit_rows(producer, rows, job_id=job_id, source="crash-test")
    victim = _busy_child_pid(producer)
    os.kill(victim, signal.SIGKILL)

    job = wait_for_job(stack_settings.effective_database_url, job_id, expected_received=20_000, timeout=180)
    assert (job["accepted"], job["rejected"], job["labeled"]) == (20_000, 0, 20_000)
    assert job["chunks_done"] == job["chunks_total"]
    with session_scope(stack_settings.effective_database_url) as s:
        total, distinct = s.execute(text(
            "SELECT count(*), count(DISTINCT transaction_id) FROM categorized_transactions WHERE job_id = :j"),
            {"j": job_id}).one()
    assert total == distinct == 20_000
    assert victim not in worker.children(), "the killed child should have been replaced"
    assert b"WorkerLostError" in worker.log_path.read_bytes() or b"exited prematurely" in worker.log_path.read_bytes()
