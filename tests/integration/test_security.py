"""Security at the broker: pickle refused, credentials in URLs work and never leak into logs or messages."""

from __future__ import annotations

import os
import pickle
import threading
import time
import uuid
from pathlib import Path

from kombu import Connection, Exchange, Producer
from sqlalchemy import select

from db.engine import session_scope
from db.models import FailedTask


class _Payload:
    """Unpickling this runs a shell command: the classic remote-code-execution message."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_worker_refuses_a_pickled_task_message(worker, stack_settings, tmp_path):
    marker = tmp_path / "pwned"
    task_id = f"pickle-{uuid.uuid4().hex[:8]}"
    body = pickle.dumps(((), {"job_id": "x", "source": "s", "transactions": [_Payload(marker)]}, {}))
    with Connection(stack_settings.effective_broker_url) as connection:
        Producer(connection).publish(
            body, routing_key="categorize", exchange=Exchange("categorize", type="direct"),
            serializer=None, content_type="application/x-python-serialize", content_encoding="binary",
            headers={"lang": "py", "task": "manna.categorize_chunk", "id": task_id, "root_id": task_id,
                     "retries": 0, "argsrepr": "()", "kwargsrepr": "{}"})
    deadline = time.monotonic() + 30
    refused = False
    while time.monotonic() < deadline and not refused:
        log = worker.log_path.read_text(errors="replace")
        refused = "untrusted content" in log and "x-python-serialize" in log
        time.sleep(0.2)
    assert refused, "the worker did not report refusing the pickled message"
    time.sleep(1.0)
    assert not marker.exists()
    with session_scope(stack_settings.effective_database_url) as session:  # refused, and not silently
        (failure,) = session.scalars(select(FailedTask).where(FailedTask.task_id == task_id)).all()
    assert failure.task_name == "refused:invalid_task" and "ContentDisallowed" in failure.error
    assert failure.kwargs["content_type"] == "application/x-python-serialize"


def test_a_message_for_an_unknown_task_is_recorded_not_dropped(worker, producer, stack_settings):
    task_id = f"unknown-{uuid.uuid4().hex[:8]}"
    producer.send_task("manna.no_such_task", kwargs={"x": 1}, queue="ingest", task_id=task_id)
    deadline, failures = time.monotonic() + 30, []
    while not failures and time.monotonic() < deadline:
        time.sleep(0.2)
        with session_scope(stack_settings.effective_database_url) as session:
            failures = session.scalars(select(FailedTask).where(FailedTask.task_id == task_id)).all()
    (failure,) = failures
    assert failure.task_name == "refused:unknown_task" and failure.kwargs["task"] == "manna.no_such_task"


def test_urls_with_credentials_work_and_no_secret_reaches_the_worker_log(stack_settings, trained_model,
                                                                                 tmp_path):
    import redis
    from sqlalchemy.engine import make_url

    from tests.integration.conftest import ThrowawayRedis, WorkerProcess, wait_for_job
    from workers.app import create_app
    from workers.client import submit_rows

    secret = f"s3cret-{uuid.uuid4().hex[:8]}"
    broker = ThrowawayRedis(tmp_path, password=secret)
    broker.start()
    # Postgres here trusts local connections, so a password in the URL is accepted and must be hidden.
    database = make_url(stack_settings.effective_database_url).set(password=secret)
    settings = stack_settings.model_copy(update={
        "broker_url": broker.url, "cache_url": broker.url.replace("/0", "/1"),
        "database_url": database.render_as_string(hide_password=False)})
    seen: list[str] = []  # every command the broker executes, message bodies included
    threading.Thread(target=_monitor, args=(broker.url, seen), daemon=True).start()
    worker = WorkerProcess(settings, tmp_path / "worker.log")
    try:
        job_id = f"secret-{uuid.uuid4().hex[:8]}"
        producer = create_app(settings)
        submit_rows(producer, [{"id": f"{job_id}-1", "description": "SQ *BLUE BOTTLE", "amount": "-4.5"}],
                    job_id=job_id, source="secrets")
        job = wait_for_job(settings.effective_database_url, job_id, expected_received=1)
        assert job["labeled"] == 1
        assert redis.Redis.from_url(settings.cache_url).dbsize() > 0  # the cache, too, spoke with the password
    finally:
        worker.stop()
        broker.stop()
    log = (tmp_path / "worker.log").read_text(errors="replace")
    assert "manna worker ready" in log and secret not in log
    published = [c for c in seen if "manna.submit_batch" in c]
    assert published, "the monitor should have seen the job's message"
    assert not [c for c in seen if secret in c], "a secret travelled in a message or command"


def _monitor(url: str, seen: list[str]) -> None:
    import redis

    try:
        with redis.Redis.from_url(url).monitor() as monitor:
            for event in monitor.listen():
                seen.append(event["command"])
    except (redis.ConnectionError, OSError):  # the broker stopped: the end of the recording
        return
