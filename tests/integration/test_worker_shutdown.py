"""SIGTERM (warm shutdown) in the middle of a job: the next worker finishes it, every row once."""

from __future__ import annotations

import signal
import time
import uuid

from sqlalchemy import func, select

from db.engine import session_scope
from db.models import Label
from pipeline.generate import Generator
from tests.integration.conftest import ThrowawayRedis, WorkerProcess, wait_for_job
from workers.app import create_app
from workers.client import submit_rows


def _labeled(url: str, job_id: str) -> int:
    with session_scope(url) as session:
        return int(session.scalar(select(func.count()).select_from(Label).where(Label.job_id == job_id)) or 0)


def test_warm_shutdown_mid_job_then_a_new_worker_finishes_it_exactly(stack_settings, trained_model, tmp_path):
    broker = ThrowawayRedis(tmp_path)  # a broker of our own: the session's worker must not help
    broker.start()
    settings = stack_settings.model_copy(update={"broker_url": broker.url, "cache_url": None})
    url = settings.effective_database_url
    job_id = f"sigterm-{uuid.uuid4().hex[:8]}"
    first = WorkerProcess(settings, tmp_path / "first.log")
    try:
        submit_rows(create_app(settings), Generator(61).rows(12_000, id_prefix=f"{job_id}-"), job_id=job_id,
                    source="sigterm")
        deadline = time.monotonic() + 60
        while _labeled(url, job_id) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        first.process.send_signal(signal.SIGTERM)
        first.process.wait(timeout=60)
        stopped_at = _labeled(url, job_id)
        assert 0 < stopped_at < 12_000, "the shutdown must come mid-job"
        second = WorkerProcess(settings, tmp_path / "second.log")
        try:
            job = wait_for_job(url, job_id, expected_received=12_000, timeout=120)
        finally:
            second.stop()
        assert (job["received"], job["accepted"], job["labeled"]) == (12_000, 12_000, 12_000)
        assert job["chunks_done"] == job["chunks_total"] == 12
        assert _labeled(url, job_id) == 12_000
    finally:
        first.stop()
        broker.stop()
