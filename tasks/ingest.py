"""``manna.submit_batch``: validate, store, then categorize a single chunk here or enqueue one task per chunk."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from db.jobs import done_chunk_ids, finish_if_done, record_batch
from db.queries import CHUNK_TASK
from pipeline.chunks import batch_key, plan_chunks
from pipeline.schema import MAX_JOB_ID_LENGTH, MAX_SOURCE_LENGTH, RowError, validate_batch
from pipeline.variant import parse_forced_variant
from services.runtime import runtime
from tasks.base import InvalidPayload, MannaTask
from tasks.chunks import categorize_and_commit


@shared_task(bind=True, base=MannaTask, name="manna.submit_batch", throws=(InvalidPayload,))
def submit_batch(self: MannaTask, job_id: str, transactions: Any, source: str = "default",
                 callback: str | None = None, force_variant: str | None = None) -> dict[str, Any]:
    """The public entry point (ARCHITECTURE.md): bad rows are rejected, the rest goes on."""
    _check_arguments(job_id, source, callback)
    settings = runtime().settings
    try:
        forced = parse_forced_variant(force_variant)
        batch = validate_batch(transactions, settings)
    except (ValueError, RowError) as err:
        raise InvalidPayload(str(err)) from err
    key = batch_key(source, transactions)
    with self.session() as session:
        fresh, new = record_batch(session, job_id=job_id, source=source, batch_key=key,
                                  accepted=batch.accepted, positions=batch.positions, rejected=batch.rejected,
                                  callback=callback, chunk_size=settings.chunk_size)
        progress = finish_if_done(session, job_id)
    chunks = plan_chunks(fresh, source=source, job_id=job_id, key=key, size=settings.chunk_size)
    if not new:  # a re-sent message: only chunks that never committed go out again
        with self.session() as session:
            done = done_chunk_ids(session, [chunk.task_id for chunk in chunks])
        chunks = [chunk for chunk in chunks if chunk.task_id not in done]
    if len(chunks) == 1:
        # The common path: one hop. The chunk is categorized here, under its own chunk id, so a
        # redelivered message finds it done (done_chunk_ids) exactly as if a chunk task had run it.
        categorize_and_commit(self, chunks[0].task_id, job_id, source, chunks[0].transactions, forced)
    else:
        for chunk in chunks:
            self.publish(CHUNK_TASK, queue="categorize", task_id=chunk.task_id, kwargs={
                "job_id": job_id, "source": source, "force_variant": forced,
                "transactions": [t.to_message() for t in chunk.transactions]})
    self.send_callback(progress, {"job_id": job_id, "source": source, "status": progress.status})
    return {"job_id": job_id, "new": new, "accepted": len(fresh), "rejected": len(batch.rejected),
            "chunks": len(chunks), "inline": len(chunks) == 1}


def _check_arguments(job_id: Any, source: Any, callback: Any) -> None:
    if not isinstance(job_id, str) or not 0 < len(job_id) <= MAX_JOB_ID_LENGTH:
        raise InvalidPayload(f"job_id must be a non-empty string of at most {MAX_JOB_ID_LENGTH} characters")
    if not isinstance(source, str) or not 0 < len(source) <= MAX_SOURCE_LENGTH:
        raise InvalidPayload(f"source must be a non-empty string of at most {MAX_SOURCE_LENGTH} characters")
    if callback is not None and (not isinstance(callback, str) or not 0 < len(callback) <= 256):
        raise InvalidPayload("callback must be a task name")

