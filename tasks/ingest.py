"""``manna.submit_batch``: validate, store, split into chunks, enqueue one categorize task each."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from celery import shared_task

from db.jobs import done_chunk_ids, finish_if_done, record_batch
from pipeline.schema import BatchResult, Rejection, RowError, validate_batch
from pipeline.variant import parse_forced_variant
from tasks.base import InvalidPayload, MannaTask
from tasks.runtime import runtime

CHUNK_NAMESPACE = uuid.UUID("6f1c9a52-3c1e-4d8e-9a57-1d0b8f3e2a10")


@shared_task(bind=True, base=MannaTask, name="manna.submit_batch", throws=(InvalidPayload,))
def submit_batch(self: MannaTask, job_id: str, transactions: Any, source: str = "default",
                 callback: str | None = None, force_variant: str | None = None) -> dict[str, Any]:
    """The public entry point (ARCHITECTURE.md): bad rows are rejected, the rest goes on."""
    _check_arguments(job_id, source, callback)
    try:
        forced = parse_forced_variant(force_variant)
        batch = _validate(transactions)
    except (ValueError, RowError) as err:
        raise InvalidPayload(str(err)) from err
    settings = runtime().settings
    batch_key = _batch_key(source, transactions)
    with self.session() as session:
        fresh, new = record_batch(session, job_id=job_id, source=source, batch_key=batch_key,
                                  accepted=batch.accepted, positions=batch.positions, rejected=batch.rejected,
                                  callback=callback, chunk_size=settings.chunk_size)
        progress = finish_if_done(session, job_id)
    chunks = [fresh[i:i + settings.chunk_size] for i in range(0, len(fresh), settings.chunk_size)]
    task_ids = [str(uuid.uuid5(CHUNK_NAMESPACE, f"{source}/{job_id}/{batch_key}/{i}")) for i in range(len(chunks))]
    if not new:  # a re-sent message: only chunks that never committed go out again
        with self.session() as session:
            done = done_chunk_ids(session, task_ids)
        pending = [i for i, task_id in enumerate(task_ids) if task_id not in done]
        chunks, task_ids = [chunks[i] for i in pending], [task_ids[i] for i in pending]
    for chunk, task_id in zip(chunks, task_ids, strict=True):
        self.publish("manna.categorize_chunk", queue="categorize", task_id=task_id, kwargs={
            "job_id": job_id, "source": source, "force_variant": forced,
            "transactions": [t.to_message() for t in chunk]})
    self.send_callback(progress, {"job_id": job_id, "source": source, "status": progress.status})
    return {"job_id": job_id, "new": new, "accepted": len(fresh), "rejected": len(batch.rejected),
            "chunks": len(chunks)}


def _check_arguments(job_id: Any, source: Any, callback: Any) -> None:
    if not isinstance(job_id, str) or not 0 < len(job_id) <= 128:
        raise InvalidPayload("job_id must be a non-empty string of at most 128 characters")
    if not isinstance(source, str) or not 0 < len(source) <= 64:
        raise InvalidPayload("source must be a non-empty string of at most 64 characters")
    if callback is not None and (not isinstance(callback, str) or not 0 < len(callback) <= 256):
        raise InvalidPayload("callback must be a task name")


def _validate(transactions: Any) -> BatchResult:
    settings = runtime().settings
    if isinstance(transactions, list) and len(transactions) > settings.max_message_transactions:
        # Too large to take as one unit: every row is kept, rejected with the reason.
        detail = (f"message holds {len(transactions)} transactions, at most "
                  f"{settings.max_message_transactions} are accepted; split it (manna submit does)")
        rejected = [Rejection(i, "message:too_large", detail, raw) for i, raw in enumerate(transactions)]
        return BatchResult([], [], rejected)
    return validate_batch(transactions, settings)


def _batch_key(source: str, transactions: Any) -> str:
    canonical = json.dumps([source, transactions], sort_keys=True, default=str, ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]
