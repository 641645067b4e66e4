"""A whole worker killed (main process and children, no chance to restore anything): the messages
it held wait in the broker's ``unacked`` hash and are redelivered to another worker after the
visibility timeout. Chunks that had committed run twice; no label is written twice.
"""

from __future__ import annotations

import os
import signal
import time
import uuid

import psutil
import redis

from pipeline.generate import Generator
from tests.integration.conftest import (
    ThrowawayRedis,
    WorkerProcess,
    label_counts,
    wait_for_job,
)
from workers.app import create_app
from workers.client import submit_rows

ROWS = 12_000


def test_work_of_a_vanished_worker_is_redelivered_after_the_visibility_timeout(stack_settings, trained_model,
                                                                                tmp_path):
    broker = ThrowawayRedis(tmp_path)
    broker.start()
    settings = stack_settings.model_copy(update={
        "broker_url": broker.url, "cache_url": None, "task_soft_time_limit": 4, "task_time_limit": 6,
        "retry_backoff_max": 2, "visibility_margin_seconds": 2})
    assert settings.visibility_timeout == 10
    url = settings.effective_database_url
    job_id = f"vanish-{uuid.uuid4().hex[:8]}"
    app, rows = create_app(settings), Generator(79).rows(ROWS, id_prefix=f"{job_id}-")
    first = WorkerProcess(settings, tmp_path / "first.log")
    try:
        submit_rows(app, rows, job_id=job_id, source="vanish")
        deadline = time.monotonic() + 60
        while label_counts(url, job_id)[0] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        main = psutil.Process(first.process.pid)
        for process in [main, *main.children(recursive=True)]:
            os.kill(process.pid, signal.SIGKILL)
        first.process.wait(timeout=10)
    finally:
        first.stop()
    held = redis.Redis.from_url(broker.url).hlen("unacked")
    assert held > 0, "the killed worker must have held unacknowledged messages"
    assert label_counts(url, job_id)[0] < ROWS

    second = WorkerProcess(settings, tmp_path / "second.log")
    try:
        job = wait_for_job(url, job_id, expected_received=ROWS, timeout=90, broker_url=broker.url)
        if job is None:
            # A message the killed worker had just taken (BRPOP) but not yet recorded as unacknowledged is
            # gone from Redis and never reached Postgres: the producer sends the job again, a no-op for
            # every row already received (docs/reliability.md, as in the broker-restart test).
            submit_rows(app, rows, job_id=job_id, source="vanish")
            job = wait_for_job(url, job_id, expected_received=ROWS, timeout=60)
    finally:
        second.stop()
        broker.stop()
    assert (job["received"], job["accepted"], job["labeled"]) == (ROWS, ROWS, ROWS)
    assert job["chunks_done"] == job["chunks_total"] == ROWS // 1000
    assert label_counts(url, job_id) == (ROWS, ROWS)
    assert "Restoring" not in first.log_path.read_text(errors="replace"), "SIGKILL leaves no chance to restore"
