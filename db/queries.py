"""Read queries for reports: what a job's labels look like and what its tasks measured."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.failures import REFUSED_PREFIX
from db.models import FailedTask, Job, Label, RejectedTransaction, TaskMetric, TransactionRow

CHUNK_TASK = "manna.categorize_chunk"
# What monitoring reads of each chunk task (the rows that carry labels).
CHUNK_COLUMNS = ("id", "variant", "model_version", "rows", "memory_hits", "cache_hits", "rule_hits", "model_hits",
                 "queue_wait_ms",
                 "total_ms", "cache_errors", "created_at")


def label_counts(session: Session, job_id: str, column: str) -> list[tuple[str, int, float]]:
    """(value, labels, mean confidence) for a label column such as category or decided_by."""
    field = getattr(Label, column)
    query = (select(field, func.count(), func.avg(Label.confidence)).where(Label.job_id == job_id)
             .group_by(field).order_by(func.count().desc()))
    return [(str(value), int(n), float(conf or 0.0)) for value, n, conf in session.execute(query)]


def review_count(session: Session, job_id: str) -> int:
    """Labels of a job flagged for review (below the abstain threshold)."""
    query = select(func.count()).where(Label.job_id == job_id, Label.needs_review.is_(True))
    return int(session.scalar(query) or 0)


def rejection_reasons(session: Session, job_id: str) -> list[tuple[str, int]]:
    """(reason, rows) for a job's rejected rows."""
    query = (select(RejectedTransaction.reason, func.count()).where(RejectedTransaction.job_id == job_id)
             .group_by(RejectedTransaction.reason).order_by(func.count().desc()))
    return [(str(reason), int(n)) for reason, n in session.execute(query)]


def task_totals(session: Session, job_id: str) -> dict[str, Any]:
    """Sums of a job's ``task_metrics`` rows (counts and stage milliseconds)."""
    columns = ["rows", "unique_rows", "memory_hits", "cache_hits", "rule_hits", "model_hits", "fallbacks",
               "labels_written", "normalize_ms", "cache_ms", "rules_ms", "vectorize_ms", "predict_ms", "write_ms",
               "total_ms", "cache_errors"]
    query = select(func.count(), *(func.coalesce(func.sum(getattr(TaskMetric, c)), 0) for c in columns))
    row = session.execute(query.where(TaskMetric.job_id == job_id)).one()
    return {"tasks": int(row[0]), **{c: float(v) for c, v in zip(columns, row[1:], strict=True)}}


def explain_label(session: Session, transaction_id: str, source: str | None = None) -> list[dict[str, Any]]:
    """Every label of a transaction id (one per source unless ``source`` is given), with its why."""
    query = (select(TransactionRow.source, TransactionRow.transaction_id, TransactionRow.description,
                    TransactionRow.amount, Label.category, Label.confidence, Label.confidence_level,
                    Label.decided_by, Label.rule_id, Label.model_version, Label.variant, Label.needs_review,
                    Label.explanation, Label.job_id, Label.categorized_at)
             .join(Label, (Label.source == TransactionRow.source)
                   & (Label.transaction_id == TransactionRow.transaction_id))
             .where(TransactionRow.transaction_id == transaction_id))
    if source is not None:
        query = query.where(TransactionRow.source == source)
    return [dict(row._mapping) for row in session.execute(query)]


def chunk_metrics(session: Session, *, since: dt.datetime | None = None, after_id: int = 0,
                  limit: int = 100_000) -> list[dict[str, Any]]:
    """Chunk tasks' metric rows, oldest first: recorded since a time, or with an id above ``after_id``.

    Over ``limit`` rows, a ``since`` query keeps the newest ones; an ``after_id`` query pages forward.
    """
    query = select(*(getattr(TaskMetric, c) for c in CHUNK_COLUMNS)).where(
        TaskMetric.task_name == CHUNK_TASK, TaskMetric.id > after_id)
    if since is not None:
        query = query.where(TaskMetric.created_at >= since).order_by(TaskMetric.id.desc()).limit(limit)
        return [dict(row._mapping) for row in reversed(session.execute(query).all())]
    return [dict(row._mapping) for row in session.execute(query.order_by(TaskMetric.id).limit(limit))]


def failure_counts(session: Session, *, since: dt.datetime | None = None) -> dict[str, int]:
    """Failed task runs per task name (all time, or since a time); ``refused:*`` rows are messages."""
    query = select(FailedTask.task_name, func.count()).group_by(FailedTask.task_name)
    if since is not None:
        query = query.where(FailedTask.failed_at >= since)
    return {str(name): int(n) for name, n in session.execute(query)}


def failed_runs(session: Session, *, since: dt.datetime | None = None) -> int:
    """Failed task runs (all time, or since a time); refused messages never ran and are not counted."""
    query = select(func.count()).select_from(FailedTask).where(~FailedTask.task_name.startswith(REFUSED_PREFIX))
    if since is not None:
        query = query.where(FailedTask.failed_at >= since)
    return int(session.scalar(query) or 0)


def rejected_count(session: Session, *, since: dt.datetime | None = None) -> int:
    """Rejected rows (all time, or since a time)."""
    query = select(func.count()).select_from(RejectedTransaction)
    if since is not None:
        query = query.where(RejectedTransaction.created_at >= since)
    return int(session.scalar(query) or 0)


def running_jobs(session: Session, limit: int = 5) -> tuple[int, list[dict[str, Any]]]:
    """(jobs still running, the most recently updated of them with their counts)."""
    total = int(session.scalar(select(func.count()).select_from(Job).where(Job.status == "running")) or 0)
    query = (select(Job.job_id, Job.source, Job.received, Job.accepted, Job.labeled, Job.chunks_done, Job.chunks_total,
                    Job.updated_at).where(Job.status == "running").order_by(Job.updated_at.desc()).limit(limit))
    return total, [dict(row._mapping) for row in session.execute(query)]
