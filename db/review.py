"""The review queue: unreviewed labels grouped by merchant, most valuable correction first."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from db.models import Correction, Label, MerchantMemory, TransactionRow

PIPELINE_DECISIONS = ("rule", "model", "cache", "fallback")  # memory and override labels are reviewed already


def review_queue(session: Session, *, limit: int, source: str | None = None,
                 since: dt.datetime | None = None) -> list[dict[str, Any]]:
    """One entry per (source, merchant key) with unreviewed labels, by expected errors a correction fixes.

    A calibrated confidence is the chance a label is right, so ``sum(1 - confidence)`` over a merchant's
    unreviewed labels is how many of them are expected to be wrong; one correction fixes the one
    reviewed, and the merchant memory (and a backfill) carries it to the rest. Each entry shows the
    merchant's least confident label. One pass of window functions: no list of keys goes back in.
    """
    merchant = (Label.source, Label.merchant_key)
    ranked = (select(Label.source, Label.merchant_key, Label.transaction_id, Label.category, Label.confidence,
                     Label.decided_by,
                     func.row_number().over(partition_by=merchant, order_by=(Label.confidence, Label.transaction_id))
                     .label("rank"),
                     func.count().over(partition_by=merchant).label("labels"),
                     func.sum(1.0 - Label.confidence).over(partition_by=merchant).label("expected_errors"),
                     func.avg(Label.confidence).over(partition_by=merchant).label("mean_confidence"),
                     (func.min(Label.category).over(partition_by=merchant)
                      != func.max(Label.category).over(partition_by=merchant)).label("mixed"))
              .where(*_unreviewed(source, since)).subquery())
    query = (select(ranked, TransactionRow.description, TransactionRow.amount)
             .join(TransactionRow, (TransactionRow.source == ranked.c.source)
                   & (TransactionRow.transaction_id == ranked.c.transaction_id))
             .where(ranked.c.rank == 1)
             .order_by(ranked.c.expected_errors.desc(), ranked.c.source, ranked.c.merchant_key).limit(limit))
    return [dict(row._mapping) for row in session.execute(query)]


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


def source_labels(session: Session, source: str) -> dict[str, str]:
    """Every label of a source: transaction id -> category."""
    query = select(Label.transaction_id, Label.category).where(Label.source == source)
    return {tid: category for tid, category in session.execute(query)}
