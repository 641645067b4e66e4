"""The project's own ingestion client: split any number of rows into contract-sized messages.

Other teams need none of this: ``send_task("manna.submit_batch", kwargs=..., queue="ingest")``
with at most ``max_message_transactions`` rows is the whole contract. A message of a few rows that
someone waits for may go to the queue ``latency`` instead, as this client does.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

from celery import Celery

from celeryconfig import LATENCY_QUEUE
from pipeline.settings import Settings, get_settings
from tasks.base import PUBLISHED_AT


def batches(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Consecutive lists of at most ``size`` rows."""
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def submit_rows(
    app: Celery,
    rows: Iterable[Any],
    *,
    job_id: str,
    source: str = "default",
    max_per_message: int = 1000,
    callback: str | None = None,
    force_variant: str | None = None,
    on_message: Callable[[int], None] | None = None,
) -> int:
    """Send ``rows`` as ``manna.submit_batch`` messages of one job; returns how many rows went out.

    The callback rides on the last message only, so it fires once the whole job is done.
    """
    sent = 0
    pending: list[Any] | None = None
    for batch in batches(rows, max_per_message):
        if pending is not None:
            sent += _send(app, job_id, pending, source, None, force_variant)
            if on_message:
                on_message(sent)
        pending = batch
    if pending is not None:
        sent += _send(app, job_id, pending, source, callback, force_variant)
        if on_message:
            on_message(sent)
    return sent


def _send(app: Celery, job_id: str, rows: list[Any], source: str, callback: str | None,
          force_variant: str | None) -> int:
    kwargs = {"job_id": job_id, "transactions": rows, "source": source, "callback": callback,
              "force_variant": force_variant}
    app.send_task("manna.submit_batch", kwargs=kwargs, queue=queue_for(len(rows)), headers={PUBLISHED_AT: time.time()})
    return len(rows)


def queue_for(rows: int, settings: Settings | None = None) -> str:
    """``latency`` for a message of at most ``latency_max_transactions`` rows, else ``ingest``."""
    limit = (settings or get_settings()).latency_max_transactions
    return LATENCY_QUEUE if rows <= limit else "ingest"



def why_no_progress(app: Celery, queue: str = "ingest") -> str:
    """The likely cause when a job does not move: the broker down, no worker on ``queue``, or busy workers."""
    from workers.monitor import answering_workers

    workers = answering_workers(app)
    if workers is None:
        return "the broker is not answering: start it, or check MANNA_BROKER_URL"
    listening = [name for name, queues in workers.items() if queue in queues]
    if not listening:
        return (f"no worker listens on queue {queue!r}: start one "
                "(celery -A workers.app worker -Q ingest,categorize), then follow the job with `manna jobs show JOB`")
    return (f"{len(listening)} worker(s) listen on {queue!r} ({', '.join(listening)}), but the job did not move: "
            "they may be busy with earlier jobs (manna status); the job goes on, follow it with `manna jobs show JOB`")
