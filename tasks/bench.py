"""Tasks only ``manna bench`` sends, on the queue ``bench``: the naive design and an empty task.

``manna.bench.naive_categorize`` is the design the seed started from, kept as the yardstick:
one task per transaction, no cache, the same rules and model, a row-by-row INSERT and commit.
``manna.bench.noop`` measures what Celery alone costs per task on this machine.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import redis
from celery import shared_task

from db.jobs import insert_one, label_row
from pipeline.categorize import Categorizer
from pipeline.schema import Transaction
from services.runtime import runtime
from tasks.base import MannaTask

NOOP_COUNTER = "manna:bench:noop:{run}"
_naive: dict[str | None, Categorizer] = {}


@shared_task(bind=True, base=MannaTask, name="manna.bench.noop")
def noop(self: MannaTask, run: str) -> None:
    """Count one run of an empty task (there is no result backend to count them)."""
    _counter_client().incr(NOOP_COUNTER.format(run=run))


@lru_cache(maxsize=1)
def _counter_client() -> redis.Redis:
    settings = runtime().settings
    return redis.Redis.from_url(settings.cache_url or settings.effective_broker_url)


@shared_task(bind=True, base=MannaTask, name="manna.bench.naive_categorize")
def naive_categorize(self: MannaTask, job_id: str, source: str, transaction: dict[str, Any]) -> None:
    """One transaction: categorize without a cache, then INSERT the row and its label and commit."""
    rt = runtime()
    version = rt.experiment().active_version
    if version not in _naive:
        served = rt.categorizer(version)  # loads and verifies the model once per process
        _naive[version] = Categorizer(served.rules, served.model, cache=None)
    txn = Transaction.from_message(transaction)
    decision = _naive[version].categorize([txn]).decisions[0]
    label = label_row(source, txn.id, decision, variant="A", job_id=job_id, task_id=self.request.id)
    with self.session() as session:
        insert_one(session, txn, label, source=source, job_id=job_id)
