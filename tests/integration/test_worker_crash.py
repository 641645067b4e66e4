"""A pool child killed with SIGKILL mid-chunk: the job still finishes with exact counts.

The victim is certainly mid-chunk: the fault injector holds one chunk in a stall and names the
child running it. A worker and broker of the test's own, so no other worker can take the chunk.
"""

from __future__ import annotations

import os
import signal
import time
import uuid

from pipeline.generate import Generator
from tests.integration.conftest import ThrowawayRedis, WorkerProcess, label_counts, wait_for_job
from workers.app import create_app
from workers.client import submit_rows

ROWS = 20_000


def test_sigkill_of_a_busy_child_loses_and_duplicates_nothing(stack_settings, trained_model, tmp_path):
    broker = ThrowawayRedis(tmp_path)
    broker.start()
    settings = stack_settings.model_copy(update={"broker_url": broker.url, "cache_url": None})
    faults = tmp_path / "faults"
    faults.mkdir()
    (faults / "stall.0").touch()
    worker = WorkerProcess(settings, tmp_path / "worker.log", extra_args=("-I", "tests.integration.faults"),
                           extra_env={"MANNA_TEST_FAULTS_DIR": str(faults)})
    try:
        job_id = f"crash-{uuid.uuid4().hex[:8]}"
        submit_rows(create_app(settings), Generator(23).rows(ROWS, id_prefix=f"{job_id}-"), job_id=job_id,
                    source="crash-test")
        marker, deadline = faults / "pids" / "stall", time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)  # the pid is written before the stall starts
        victim = int(marker.read_text())
        os.kill(victim, signal.SIGKILL)

        job = wait_for_job(settings.effective_database_url, job_id, expected_received=ROWS, timeout=120)
        assert (job["accepted"], job["rejected"], job["labeled"]) == (ROWS, 0, ROWS)
        assert job["chunks_done"] == job["chunks_total"] == ROWS // 1000
        assert label_counts(settings.effective_database_url, job_id) == (ROWS, ROWS)
        assert victim not in worker.children(), "the killed child should have been replaced"
        log = worker.log_path.read_text(errors="replace")
        assert "WorkerLostError" in log, "the chunk must have been lost with its child, then retried"
    finally:
        worker.stop()
        broker.stop()
