"""The Redis broker killed and restarted mid-job: workers and producer reconnect, every row once.

The broker persists to its append-only file (as a production broker must), so queued messages
and the ``unacked`` hash survive the restart. The job has to finish long before the visibility
timeout: redelivery of the messages the workers held must not wait for it. A message the broker
handed out (BRPOP) in the instant it died is gone from Redis: a lost chunk is sent again by the
stalled-job recovery (beat, sent here by hand) from Postgres; a lost message of the job never
reached Postgres, so the producer sends the job again (idempotent by contract).
"""

from __future__ import annotations

import threading
import time
import uuid

import redis
from kombu import Connection

from pipeline.generate import Generator
from tests.integration.conftest import ThrowawayRedis, WorkerProcess, label_counts, wait_for_job
from workers.app import create_app
from workers.broker import Transport
from workers.client import submit_rows

ROWS, OUTAGE_SECONDS = 8_000, 3.0


def test_broker_restart_mid_job_loses_and_duplicates_nothing(stack_settings, trained_model, tmp_path):
    broker = ThrowawayRedis(tmp_path, persistent=True)
    broker.start()
    settings = stack_settings.model_copy(update={"broker_url": broker.url, "cache_url": None, "stall_seconds": 5})
    assert settings.visibility_timeout > 120, "the job must not be rescued by the visibility timeout"
    url = settings.effective_database_url
    job_id = f"restart-{uuid.uuid4().hex[:8]}"
    rows = Generator(67).rows(ROWS, id_prefix=f"{job_id}-")
    app = create_app(settings)
    worker = WorkerProcess(settings, tmp_path / "worker.log")
    try:
        submit_rows(app, rows[: ROWS // 2], job_id=job_id, source="restart")
        deadline = time.monotonic() + 60
        while label_counts(url, job_id)[0] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        broker.stop()
        # The producer keeps sending during the outage: its publishes retry until the broker is back.
        late = threading.Thread(target=submit_rows, args=(app, rows[ROWS // 2 :]),
                                kwargs={"job_id": job_id, "source": "restart"})
        late.start()
        time.sleep(OUTAGE_SECONDS)
        broker.start()
        late.join(timeout=60)
        assert not late.is_alive(), "the producer did not get its messages through after the restart"

        time.sleep(settings.stall_seconds + 3)  # what beat does every few minutes
        app.send_task("manna.recover_stalled_jobs", queue="ingest")
        try:
            job = wait_for_job(url, job_id, expected_received=ROWS, timeout=30)
        except AssertionError:
            # A whole message lost in that instant never reached Postgres: the producer sends the
            # job again, which the contract makes a no-op for every row already received.
            submit_rows(app, rows, job_id=job_id, source="restart")
            job = wait_for_job(url, job_id, expected_received=ROWS, timeout=60)
        assert (job["received"], job["accepted"], job["labeled"]) == (ROWS, ROWS, ROWS)
        assert job["chunks_done"] == job["chunks_total"] == ROWS // 1000
        assert label_counts(url, job_id) == (ROWS, ROWS)
    finally:
        worker.stop()
        broker.stop()


def test_a_connection_torn_down_before_its_channel_keeps_the_held_message_for_the_reconnect(tmp_path):
    # Seen in a full run: on "Connection to broker lost", kombu detached the transport from its
    # connection before it closed the channel, and the channel's restore of the messages it held
    # raised AttributeError in kombu's Redis transport; the worker stopped ("Unrecoverable error").
    broker = ThrowawayRedis(tmp_path, persistent=True)
    broker.start()
    try:
        held = Connection(broker.url, transport=Transport)
        channel = held.channel()
        channel.basic_publish(channel.prepare_message("a chunk"), exchange="", routing_key="categorize")
        assert channel.basic_get("categorize", no_ack=False) is not None  # held, unacknowledged
        broker.stop()
        channel.connection.client = None  # the order seen: the transport let go of its connection first
        channel.close()  # raised AttributeError before workers/broker.py knew this case
        broker.start()
        fresh = Connection(broker.url, transport=Transport).channel()
        fresh.basic_consume("categorize", no_ack=True, callback=lambda message: None, consumer_tag="t")
        assert redis.Redis.from_url(broker.url).llen("categorize") == 1  # back in its queue, not left for minutes
    finally:
        broker.stop()
