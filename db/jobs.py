"""Job bookkeeping: accepted messages, stored transactions, committed chunks, finishing by counter.

Every write here happens inside the caller's transaction, together with the rows it counts, so
the counts stay exact however often a message is delivered.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from db.bulk import insert_new, upsert_ignore
from db.models import Job, JobBatch, JobChunk, Label, RejectedTransaction, TaskMetric, TransactionRow
from pipeline.categorize import Decision
from pipeline.chunks import chunk_task_id
from pipeline.performance import throughput
from pipeline.schema import Rejection, Transaction

RAW_LIMIT = 65_536


@dataclass(frozen=True, slots=True)
class JobProgress:
    """A job's state after a write; ``just_finished`` is true for exactly one writer."""

    job_id: str
    status: str
    chunks_done: int
    chunks_total: int
    callback: str | None
    just_finished: bool
    callback_pending: bool


def record_batch(
    session: Session,
    *,
    job_id: str,
    source: str,
    batch_key: str,
    accepted: Sequence[Transaction],
    positions: Sequence[int],
    rejected: Sequence[Rejection],
    callback: str | None,
    chunk_size: int,
) -> tuple[list[Transaction], bool]:
    """Store one message's rows; return the transactions to categorize and whether it was new.

    A re-sent message (same job, same content) stores nothing and returns the same rows again,
    so the caller can re-enqueue chunks a crash may have lost.
    """
    upsert_ignore(session, Job, {"job_id": job_id, "source": source, "status": "running"})
    if callback:
        session.execute(update(Job).where(Job.job_id == job_id).values(callback=callback))
    batch = {"job_id": job_id, "batch_key": batch_key, "accepted": 0, "rejected": 0, "chunks": 0}
    if not upsert_ignore(session, JobBatch, batch):
        stored = set(
            session.scalars(
                select(TransactionRow.transaction_id).where(
                    TransactionRow.source == source, TransactionRow.batch_key == batch_key
                )
            )
        )
        return [t for t in accepted if t.id in stored], False

    inserted_keys = insert_new(
        session,
        TransactionRow,
        [_transaction_row(t, source, job_id, batch_key) for t in accepted],
        ["transaction_id"],
    )
    inserted = {key[0] for key in inserted_keys}
    fresh = [t for t in accepted if t.id in inserted]
    already = [
        Rejection(
            i,
            "id:already_received",
            f"transaction {t.id!r} of source {source!r} was received before",
            t.to_message(),
            t.id,
        )
        for t, i in zip(accepted, positions, strict=True)
        if t.id not in inserted
    ]
    all_rejected = [*rejected, *already]
    insert_new(
        session,
        RejectedTransaction,
        [_rejection_row(r, source, job_id, batch_key) for r in all_rejected],
        ["id"],
    )
    chunks = -(-len(fresh) // chunk_size)
    session.execute(
        update(JobBatch)
        .where(JobBatch.job_id == job_id, JobBatch.batch_key == batch_key)
        .values(accepted=len(fresh), rejected=len(all_rejected), chunks=chunks)
    )
    session.execute(
        update(Job)
        .where(Job.job_id == job_id)
        .values(
            messages=Job.messages + 1,
            received=Job.received + len(accepted) + len(rejected),
            accepted=Job.accepted + len(fresh),
            rejected=Job.rejected + len(all_rejected),
            chunks_total=Job.chunks_total + chunks,
            status="running",
            finished_at=None,
            updated_at=func.now(),
        )
    )
    return fresh, True


def commit_chunk(
    session: Session, *, task_id: str, job_id: str, labels: Sequence[dict[str, Any]], metrics: dict[str, Any]
) -> tuple[int, JobProgress]:
    """Write a chunk's labels and metrics and count the chunk once; returns labels written.

    ``metrics["total_ms"]`` holds the time before writing; the write time is added here.
    """
    started = time.perf_counter()
    written = len(insert_new(session, Label, labels, ["transaction_id"]))
    if upsert_ignore(session, JobChunk, {"task_id": task_id, "job_id": job_id, "rows": len(labels)}):
        session.execute(
            update(Job)
            .where(Job.job_id == job_id)
            .values(chunks_done=Job.chunks_done + 1, labeled=Job.labeled + written, updated_at=func.now())
        )
    write_ms = (time.perf_counter() - started) * 1000.0
    upsert_ignore(
        session,
        TaskMetric,
        {
            **metrics,
            "labels_written": written,
            "write_ms": write_ms,
            "total_ms": metrics.get("total_ms", 0.0) + write_ms,
        },
    )
    return written, finish_if_done(session, job_id)


def finish_if_done(session: Session, job_id: str) -> JobProgress:
    """Mark the job finished when every counted chunk is done; only one caller sees just_finished."""
    result = session.execute(
        update(Job)
        .where(Job.job_id == job_id, Job.status != "finished", Job.chunks_done >= Job.chunks_total)
        .values(status="finished", finished_at=func.now(), updated_at=func.now())
    )
    just_finished = getattr(result, "rowcount", 0) == 1
    job = session.execute(select(Job).where(Job.job_id == job_id)).scalar_one()
    return JobProgress(
        job.job_id,
        job.status,
        job.chunks_done,
        job.chunks_total,
        job.callback,
        just_finished,
        job.status == "finished" and bool(job.callback) and job.callback_sent_at is None,
    )


def done_chunk_ids(session: Session, task_ids: Sequence[str]) -> set[str]:
    """Which of these chunk task ids already committed their labels."""
    return set(session.scalars(select(JobChunk.task_id).where(JobChunk.task_id.in_(list(task_ids)))))


def mark_callback_sent(session: Session, job_id: str) -> bool:
    """Record that the job's callback went out; False if another worker recorded it first."""
    result = session.execute(
        update(Job).where(Job.job_id == job_id, Job.callback_sent_at.is_(None)).values(callback_sent_at=func.now())
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def job_summary(session: Session, job_id: str) -> dict[str, Any] | None:
    """The job row as a plain dict with its elapsed seconds and throughput, or None.

    ``elapsed_s`` runs from ``created_at`` (the job's first message stored) to ``finished_at`` (its
    last chunk committed), so ingest and queue waits count. ``throughput_tps`` is ``labeled`` over
    that, and None while the job runs or when it took under ``MIN_THROUGHPUT_SECONDS`` (a job that
    small measures latency, not throughput).
    """
    job = session.get(Job, job_id)
    if job is None:
        return None
    row = {c.name: getattr(job, c.key) for c in Job.__table__.columns}
    elapsed = (job.finished_at - job.created_at).total_seconds() if job.finished_at and job.created_at else None
    return {**row, "elapsed_s": None if elapsed is None else round(elapsed, 3),
            "throughput_tps": None if elapsed is None else throughput(job.labeled, elapsed)}


def label_row(source: str, transaction_id: str, decision: Decision, *, variant: str, job_id: str,
              task_id: str, merchant_key: str | None = None) -> dict[str, Any]:
    """The ``labels`` row of one decision."""
    return {"source": source, "transaction_id": transaction_id, "category": decision.category,
            "confidence": decision.confidence, "confidence_level": decision.confidence_level,
            "decided_by": decision.decided_by, "rule_id": decision.rule_id, "model_version": decision.model_version,
            "variant": variant, "needs_review": decision.needs_review, "explanation": decision.explanation,
            "job_id": job_id, "task_id": task_id, "merchant_key": merchant_key,
            "correction_id": decision.correction_id}


def insert_one(session: Session, transaction: Transaction, label: dict[str, Any], *, source: str,
               job_id: str) -> None:
    """The naive write that the benchmark's baseline measures: two plain INSERTs, no staging, no bookkeeping."""
    session.execute(insert(TransactionRow).values(**_transaction_row(transaction, source, job_id, "naive")))
    session.execute(insert(Label).values(**label))


def _transaction_row(t: Transaction, source: str, job_id: str, batch_key: str) -> dict[str, Any]:
    return {
        "source": source,
        "transaction_id": t.id,
        "job_id": job_id,
        "batch_key": batch_key,
        "description": t.description,
        "amount": t.amount,
        "currency": t.currency,
        "date": t.date,
        "account_id": t.account_id,
        "mcc": t.mcc,
        "counterparty": t.counterparty,
    }


def _rejection_row(r: Rejection, source: str, job_id: str, batch_key: str) -> dict[str, Any]:
    raw = json.dumps(r.raw, default=str, ensure_ascii=True)
    if len(raw) > RAW_LIMIT:
        raw = raw[:RAW_LIMIT] + "...[truncated]"
    return {
        "source": source,
        "job_id": job_id,
        "batch_key": batch_key,
        "row_index": r.row_index,
        "transaction_id": r.transaction_id,
        "reason": r.reason,
        "detail": r.detail[:2000],
        "raw": raw,
    }


def stalled_jobs(session: Session, idle_seconds: float) -> list[str]:
    """Running jobs with no progress for ``idle_seconds``: a chunk message may have been lost."""
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=idle_seconds)
    query = select(Job.job_id).where(Job.status == "running", Job.updated_at < cutoff).order_by(Job.updated_at)
    return list(session.scalars(query))


@dataclass(frozen=True)
class MissingChunk:
    task_id: str
    source: str
    transactions: list[Transaction]


def missing_chunks(session: Session, job_id: str) -> list[MissingChunk]:
    """Every chunk of the job that never committed, with the unlabeled transactions to give it.

    A chunk commits its labels and its ``job_chunks`` row together, so the rows of a batch that
    have no label belong to its missing chunks. They are split evenly among those ids.
    """
    job = session.get(Job, job_id)
    if job is None:
        return []
    done = set(session.scalars(select(JobChunk.task_id).where(JobChunk.job_id == job_id)))
    found: list[MissingChunk] = []
    for batch in session.scalars(select(JobBatch).where(JobBatch.job_id == job_id).order_by(JobBatch.batch_key)):
        ids = [chunk_task_id(job.source, job_id, batch.batch_key, n) for n in range(batch.chunks)]
        missing = [task_id for task_id in ids if task_id not in done]
        if not missing:
            continue
        unlabeled = [_transaction(row) for row in session.scalars(
            select(TransactionRow)
            .outerjoin(Label, (Label.source == TransactionRow.source)
                       & (Label.transaction_id == TransactionRow.transaction_id))
            .where(TransactionRow.source == job.source, TransactionRow.batch_key == batch.batch_key,
                   Label.transaction_id.is_(None))
            .order_by(TransactionRow.transaction_id))]
        found += [MissingChunk(task_id, job.source, unlabeled[n :: len(missing)]) for n, task_id in enumerate(missing)]
    return found


def _transaction(row: TransactionRow) -> Transaction:
    return Transaction(row.transaction_id, row.description, row.amount, row.currency, row.date, row.account_id,
                       row.mcc, row.counterparty)


def recent_jobs(session: Session, limit: int = 20, source: str | None = None) -> list[dict[str, Any]]:
    """The newest jobs first, as plain dicts."""
    query = select(Job).order_by(Job.created_at.desc(), Job.job_id).limit(limit)
    if source is not None:
        query = query.where(Job.source == source)
    return [{c.name: getattr(job, c.key) for c in Job.__table__.columns} for job in session.scalars(query)]
