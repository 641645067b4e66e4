"""SQLAlchemy 2 models: the tables operators query and the ``categorized_transactions`` view."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}


def _now() -> Any:
    return func.now()


class ExactJSON(TypeDecorator[Any]):
    """JSON kept as ASCII text: NaN, Infinity, NUL and lone surrogates round-trip exactly.

    A database JSON type refuses some of what a hostile message carries (PostgreSQL's json has no
    NaN), and a failed task must be stored as it arrived so that a re-drive sends it unchanged.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else json.dumps(value, ensure_ascii=True, allow_nan=True)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON}


class TransactionRow(Base):
    __tablename__ = "transactions"
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    transaction_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    job_id: Mapped[str] = mapped_column(String(128), index=True)
    batch_key: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text)
    amount: Mapped[Decimal] = mapped_column(Numeric(20, 4))
    currency: Mapped[str] = mapped_column(String(3))
    date: Mapped[dt.date | None] = mapped_column(Date)
    account_id: Mapped[str | None] = mapped_column(String(256))
    mcc: Mapped[str | None] = mapped_column(String(4))
    counterparty: Mapped[str | None] = mapped_column(String(256))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=_now())


class Label(Base):
    __tablename__ = "labels"
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    transaction_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    category: Mapped[str] = mapped_column(String(128))
    confidence: Mapped[float] = mapped_column(Float)
    confidence_level: Mapped[str] = mapped_column(String(16))
    decided_by: Mapped[str] = mapped_column(String(16))
    rule_id: Mapped[str | None] = mapped_column(String(128))
    model_version: Mapped[str | None] = mapped_column(String(64))
    variant: Mapped[str] = mapped_column(String(1))
    needs_review: Mapped[bool] = mapped_column(Boolean)
    explanation: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[str] = mapped_column(String(128), index=True)
    task_id: Mapped[str] = mapped_column(String(64))
    categorized_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=_now())
    # The review queue groups labels by merchant; memory and override labels name their correction.
    merchant_key: Mapped[str | None] = mapped_column(String(128))
    correction_id: Mapped[int | None] = mapped_column(BigInteger)


class Job(Base):
    __tablename__ = "jobs"
    job_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="running")
    messages: Mapped[int] = mapped_column(Integer, default=0)
    received: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    labeled: Mapped[int] = mapped_column(Integer, default=0)
    chunks_total: Mapped[int] = mapped_column(Integer, default=0)
    chunks_done: Mapped[int] = mapped_column(Integer, default=0)
    callback: Mapped[str | None] = mapped_column(String(256))
    callback_sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=_now())
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=_now())
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class JobBatch(Base):
    """One accepted message of a job; its key makes a re-sent message a no-op."""

    __tablename__ = "job_batches"
    job_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    batch_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    accepted: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)
    chunks: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=_now())


class JobChunk(Base):
    """A chunk whose labels are committed; counting these (not task runs) finishes a job."""

    __tablename__ = "job_chunks"
    task_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    job_id: Mapped[str] = mapped_column(String(128), index=True)
    rows: Mapped[int] = mapped_column(Integer)
    done_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=_now())


class TaskMetric(Base):
    __tablename__ = "task_metrics"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    task_id: Mapped[str] = mapped_column(String(64), unique=True)
    task_name: Mapped[str] = mapped_column(String(64))
    job_id: Mapped[str] = mapped_column(String(128), index=True)
    variant: Mapped[str | None] = mapped_column(String(1))
    model_version: Mapped[str | None] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    unique_rows: Mapped[int] = mapped_column(Integer, default=0)
    cache_hits: Mapped[int] = mapped_column(Integer, default=0)  # exact key and merchant layer together
    # Of cache_hits, those the merchant layer answered (rows of older workers count 0).
    merchant_cache_hits: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rule_hits: Mapped[int] = mapped_column(Integer, default=0)
    model_hits: Mapped[int] = mapped_column(Integer, default=0)
    fallbacks: Mapped[int] = mapped_column(Integer, default=0)
    memory_hits: Mapped[int] = mapped_column(Integer, default=0)
    labels_written: Mapped[int] = mapped_column(Integer, default=0)
    queue_wait_ms: Mapped[float | None] = mapped_column(Float)
    normalize_ms: Mapped[float] = mapped_column(Float, default=0.0)
    cache_ms: Mapped[float] = mapped_column(Float, default=0.0)
    rules_ms: Mapped[float] = mapped_column(Float, default=0.0)
    vectorize_ms: Mapped[float] = mapped_column(Float, default=0.0)
    predict_ms: Mapped[float] = mapped_column(Float, default=0.0)
    write_ms: Mapped[float] = mapped_column(Float, default=0.0)
    total_ms: Mapped[float] = mapped_column(Float, default=0.0)
    cache_errors: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=_now(), index=True)


class RejectedTransaction(Base):
    __tablename__ = "rejected_transactions"
    __table_args__ = (UniqueConstraint("job_id", "batch_key", "row_index", name="uq_rejected_row"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    job_id: Mapped[str] = mapped_column(String(128), index=True)
    batch_key: Mapped[str] = mapped_column(String(64))
    row_index: Mapped[int] = mapped_column(Integer)
    transaction_id: Mapped[str | None] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=_now())


class FailedTask(Base):
    __tablename__ = "failed_tasks"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    task_id: Mapped[str] = mapped_column(String(64), index=True)
    task_name: Mapped[str] = mapped_column(String(64))
    kwargs: Mapped[dict[str, Any]] = mapped_column(ExactJSON)
    error: Mapped[str] = mapped_column(Text)
    retries: Mapped[int] = mapped_column(Integer, default=0)
    failed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=_now())
    redriven_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    variant: Mapped[str | None] = mapped_column(String(1))  # of a chunk task: errors count against a variant


class ModelVersion(Base):
    __tablename__ = "model_versions"
    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="candidate")
    artifact_sha256: Mapped[str] = mapped_column(String(64))
    artifact_path: Mapped[str] = mapped_column(Text)
    training_summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=_now())


class ExperimentRow(Base):
    __tablename__ = "experiments"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    active_version: Mapped[str | None] = mapped_column(String(64))
    candidate_version: Mapped[str | None] = mapped_column(String(64))
    candidate_percent: Mapped[float] = mapped_column(Float, default=0.0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=_now())


Index("ix_labels_categorized_at", Label.categorized_at)


class AlertState(Base):
    """The current state of each alert rule; a change also leaves an ``alert_events`` row."""

    __tablename__ = "alert_states"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    value: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=_now())
    evaluated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=_now())


class AlertEvent(Base):
    __tablename__ = "alert_events"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    value: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=_now())


class Correction(Base):
    """A reviewer's verdict on one label, append-only: a confirmation or a correction.

    ``previous_*`` is the label as the reviewer saw it, so live accuracy is measured per variant
    and model version, and every override can be traced back.
    """

    __tablename__ = "corrections"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    transaction_id: Mapped[str] = mapped_column(String(128))
    category: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))  # confirmation | correction
    new_category: Mapped[bool] = mapped_column(Boolean, default=False)
    merchant_key: Mapped[str] = mapped_column(String(128))
    direction: Mapped[int] = mapped_column(Integer)
    previous_category: Mapped[str] = mapped_column(String(128))
    previous_decided_by: Mapped[str] = mapped_column(String(16))
    previous_rule_id: Mapped[str | None] = mapped_column(String(128))
    previous_confidence: Mapped[float] = mapped_column(Float)
    model_version: Mapped[str | None] = mapped_column(String(64))
    variant: Mapped[str] = mapped_column(String(1))
    reviewer: Mapped[str | None] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(16))  # cli | api
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=_now(), index=True)


Index("ix_corrections_source_transaction", Correction.source, Correction.transaction_id)


class MerchantMemory(Base):
    """What reviewers taught about a merchant of a source: the newest correction, and how many agree.

    ``streak`` counts the newest corrections of this key that name ``category``; memory decides a
    line only when it reaches ``MANNA_MEMORY_MIN_AGREEMENT``.
    """

    __tablename__ = "merchant_memory"
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    merchant_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    direction: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(128))
    correction_id: Mapped[int] = mapped_column(BigInteger)
    streak: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=_now())


class MemoryGeneration(Base):
    """Bumped with every change to a source's merchant memory: a worker reloads the memory only then."""

    __tablename__ = "memory_generations"
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger)


class LabelHistory(Base):
    """A label as it was before an override or a backfill replaced it."""

    __tablename__ = "label_history"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    transaction_id: Mapped[str] = mapped_column(String(128))
    category: Mapped[str] = mapped_column(String(128))
    confidence: Mapped[float] = mapped_column(Float)
    decided_by: Mapped[str] = mapped_column(String(16))
    rule_id: Mapped[str | None] = mapped_column(String(128))
    model_version: Mapped[str | None] = mapped_column(String(64))
    variant: Mapped[str] = mapped_column(String(1))
    correction_id: Mapped[int | None] = mapped_column(BigInteger)
    categorized_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    replaced_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=_now())
    replaced_by: Mapped[str] = mapped_column(String(64))  # correction:<id> | recategorize:<run>


Index("ix_label_history_source_transaction", LabelHistory.source, LabelHistory.transaction_id)


class RetrainRun(Base):
    """One retraining attempt and its decision, with the figures behind it."""

    __tablename__ = "retrain_runs"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # running | registered | rejected | skipped | failed
    trigger: Mapped[str] = mapped_column(String(16))  # beat | cli | api
    base_version: Mapped[str | None] = mapped_column(String(64))
    candidate_version: Mapped[str | None] = mapped_column(String(64))
    last_correction_id: Mapped[int | None] = mapped_column(BigInteger)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reason: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=_now())
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Lease(Base):
    """A named lock with an expiry: a holder that dies frees it when the lease runs out."""

    __tablename__ = "leases"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class RolloutEvent(Base):
    """Every change of what serves: a rollout's decision with its figures, or a manual change and who made it."""

    __tablename__ = "rollout_events"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    rollout_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    decision: Mapped[str] = mapped_column(String(32))  # hold | advance | complete | rollback | manual:<what> ...
    phase: Mapped[int | None] = mapped_column(Integer)
    candidate_percent: Mapped[float | None] = mapped_column(Float)
    version: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actor: Mapped[str] = mapped_column(String(128))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=_now(), index=True)


class Rollout(Base):
    """A candidate's walk through the policy's phases; ``phase`` moves only by compare-and-set."""

    __tablename__ = "rollouts"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    candidate_version: Mapped[str] = mapped_column(String(64))
    active_version: Mapped[str | None] = mapped_column(String(64))
    policy: Mapped[str] = mapped_column(Text)
    phases: Mapped[list[float]] = mapped_column(JSON)
    phase: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16))  # running | paused | completed | rolled_back | aborted
    baseline: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # standard evaluation of both models
    actor: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=_now())
    phase_started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=_now())
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
