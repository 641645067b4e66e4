"""The review queue: unreviewed labels grouped by merchant, most valuable correction first."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import exists, func, select, tuple_
from sqlalchemy.orm import Session

from db.models import Correction, Label, MerchantMemory, TransactionRow

PIPELINE_DECISIONS = ("rule", "model", "cache", "fallback")  # memory and override labels are reviewed already


def review_queue(session: Session, *, limit: int, source: str | None = None,
                 since: dt.datetime | None = None) -> list[dict[str, Any]]:
    """One entry per (source, merchant key) with unreviewed labels, by expected errors a correction fixes.

    A calibrated confidence is the chance a label is right, so ``sum(1 - confidence)`` over a merchant's
    unreviewed labels is how many of them are expected to be wrong; one correction fixes the one
    reviewed, and the merchant memory (and a backfill) carries it to the rest.
    """
    expected_errors = func.sum(1.0 - Label.confidence)
    query = (select(Label.source, Label.merchant_key, func.count().label("labels"),
                    expected_errors.label("expected_errors"), func.avg(Label.confidence).label("mean_confidence"),
                    func.count(Label.category.distinct()).label("categories"))
             .where(*_unreviewed(source, since))
             .group_by(Label.source, Label.merchant_key)
             .order_by(expected_errors.desc(), Label.source, Label.merchant_key).limit(limit))
    groups = [dict(row._mapping) for row in session.execute(query)]
    if not groups:
        return []
    examples = _lowest_confidence_label(session, [(g["source"], g["merchant_key"]) for g in groups], source, since)
    return [{**group, **examples[(group["source"], group["merchant_key"])]} for group in groups]


def _unreviewed(source: str | None, since: dt.datetime | None) -> list[Any]:
    reviewed = exists().where(Correction.source == Label.source, Correction.transaction_id == Label.transaction_id)
    remembered = exists().where(MerchantMemory.source == Label.source,
                                MerchantMemory.merchant_key == Label.merchant_key)
    conditions = [Label.decided_by.in_(PIPELINE_DECISIONS), Label.merchant_key.is_not(None), ~reviewed, ~remembered]
    if source is not None:
        conditions.append(Label.source == source)
    if since is not None:
        conditions.append(Label.categorized_at >= since)
    return conditions


def _lowest_confidence_label(session: Session, keys: list[tuple[str, str]], source: str | None,
                             since: dt.datetime | None) -> dict[tuple[str, str], dict[str, Any]]:
    """Per merchant, the unreviewed label the model was least sure of: the one to show a reviewer."""
    rank = func.row_number().over(partition_by=(Label.source, Label.merchant_key),
                                  order_by=(Label.confidence, Label.transaction_id)).label("rank")
    inner = (select(Label.source, Label.merchant_key, Label.transaction_id, Label.category, Label.confidence,
                    Label.decided_by, TransactionRow.description, TransactionRow.amount, rank)
             .join(TransactionRow, (TransactionRow.source == Label.source)
                   & (TransactionRow.transaction_id == Label.transaction_id))
             .where(*_unreviewed(source, since), tuple_(Label.source, Label.merchant_key).in_(keys))
             .subquery())
    query = select(inner).where(inner.c.rank == 1)
    return {(row.source, row.merchant_key): {
        "transaction_id": row.transaction_id, "description": row.description, "amount": row.amount,
        "category": row.category, "confidence": row.confidence, "decided_by": row.decided_by}
        for row in session.execute(query)}


def source_labels(session: Session, source: str) -> dict[str, str]:
    """Every label of a source: transaction id -> category."""
    query = select(Label.transaction_id, Label.category).where(Label.source == source)
    return {tid: category for tid, category in session.execute(query)}
