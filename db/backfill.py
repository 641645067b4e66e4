"""Stored labels for a backfill to re-decide, and the replacement of one, history kept."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session

from db.feedback import CurrentLabel, archive_label
from db.models import Correction, Label, TransactionRow
from pipeline.schema import Transaction


@dataclass(frozen=True)
class StoredLabel:
    """A label that may be re-decided, with its transaction."""

    label: CurrentLabel
    transaction: Transaction


def labels_to_redecide(session: Session, *, source: str, job_id: str | None, since: dt.datetime | None,
                       after: str, limit: int) -> list[StoredLabel]:
    """The next page (by transaction id) of labels a backfill may change: never overrides, never reviewed ones."""
    reviewed = exists().where(Correction.source == Label.source, Correction.transaction_id == Label.transaction_id)
    query = (select(Label, TransactionRow)
             .join(TransactionRow, (TransactionRow.source == Label.source)
                   & (TransactionRow.transaction_id == Label.transaction_id))
             .where(Label.source == source, Label.transaction_id > after, Label.decided_by != "override", ~reviewed)
             .order_by(Label.transaction_id).limit(limit))
    if job_id is not None:
        query = query.where(Label.job_id == job_id)
    if since is not None:
        query = query.where(Label.categorized_at >= since)
    return [StoredLabel(_current(label, row), Transaction(row.transaction_id, row.description, row.amount,
                                                          row.currency, row.date, row.account_id, row.mcc,
                                                          row.counterparty))
            for label, row in session.execute(query)]


def replace_label(session: Session, old: CurrentLabel, new: dict[str, Any], replaced_by: str) -> bool:
    """Write a re-decided label unless it changed meanwhile (an override wins); the old one goes to history."""
    result = session.execute(
        update(Label).where(Label.source == old.source, Label.transaction_id == old.transaction_id,
                            Label.decided_by == old.decided_by, Label.category == old.category)
        .values(**new, categorized_at=func.now()))
    if getattr(result, "rowcount", 0) != 1:
        return False
    archive_label(session, old, replaced_by)
    return True


def _current(label: Label, row: TransactionRow) -> CurrentLabel:
    return CurrentLabel(label.source, label.transaction_id, label.category, label.confidence, label.decided_by,
                        label.rule_id, label.model_version, label.variant, label.correction_id, label.categorized_at,
                        row.description, row.amount)
