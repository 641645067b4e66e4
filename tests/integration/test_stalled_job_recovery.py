"""A chunk message lost by the broker (handed out by BRPOP as it died): the stalled job is found
and its missing chunk sent again from Postgres, and the job ends exact."""

from __future__ import annotations

import time
import uuid

import redis

from pipeline.generate import Generator
from tests.integration.conftest import ThrowawayRedis, WorkerProcess, label_counts, wait_for_job
from workers.app import create_app
from workers.client import submit_rows

ROWS = 5_000
CHUNK = 500  # below the 1,000-row message: each message fans out into chunk tasks (one that fits is run inline)
CHUNKS = ROWS // CHUNK


def test_a_lost_chunk_message_is_sent_again_and_the_job_finishes_exactly(stack_settings, trained_model, tmp_path):
    broker = ThrowawayRedis(tmp_path)
    broker.start()
    settings = stack_settings.model_copy(update={"broker_url": broker.url, "cache_url": None, "stall_seconds": 3})
    url, app, client = settings.effective_database_url, create_app(settings), redis.Redis.from_url(broker.url)
    job_id = f"lost-{uuid.uuid4().hex[:8]}"
    env = {"MANNA_CHUNK_SIZE": str(CHUNK)}
    ingest = WorkerProcess(settings, tmp_path / "ingest.log", queues="ingest", extra_env=env)  # no one takes chunks
    try:
        submit_rows(app, Generator(101).rows(ROWS, id_prefix=f"{job_id}-"), job_id=job_id, source="lost")
        deadline = time.monotonic() + 60
        while client.llen("categorize") < CHUNKS and time.monotonic() < deadline:
            time.sleep(0.1)
        assert client.rpop("categorize") is not None  # the message the dying broker handed out
        categorize = WorkerProcess(settings, tmp_path / "categorize.log", queues="categorize", extra_env=env)
        try:
            deadline = time.monotonic() + 60
            while label_counts(url, job_id)[0] < ROWS - CHUNK and time.monotonic() < deadline:
                time.sleep(0.1)
            assert label_counts(url, job_id) == (ROWS - CHUNK, ROWS - CHUNK), "one chunk must be missing"
            time.sleep(settings.stall_seconds + 1)
            app.send_task("manna.recover_stalled_jobs", queue="ingest")
            job = wait_for_job(url, job_id, expected_received=ROWS, timeout=60)
        finally:
            categorize.stop()
    finally:
        ingest.stop()
        broker.stop()
    assert (job["accepted"], job["labeled"], job["chunks_done"], job["chunks_total"]) == (ROWS, ROWS, CHUNKS, CHUNKS)
    assert label_counts(url, job_id) == (ROWS, ROWS)
    assert "sent 1 missing chunk(s) again" in (tmp_path / "ingest.log").read_text()
