"""Reviews in the database: corrections (append-only), overrides with their history, live accuracy."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.orm import Session

from db.models import Correction, Label, LabelHistory, TransactionRow
from pipeline.settings import Settings

OVERRIDE_CONFIDENCE = 1.0


@dataclass(frozen=True, slots=True)
class CurrentLabel:
    """A label as it stands, with the transaction it belongs to."""

    source: str
    transaction_id: str
    category: str
    confidence: float
    decided_by: str
    rule_id: str | None
    model_version: str | None
    variant: str
    correction_id: int | None
    categorized_at: dt.datetime
    description: str
    amount: Decimal


_LABEL_COLUMNS = (Label.source, Label.transaction_id, Label.category, Label.confidence, Label.decided_by,
                  Label.rule_id, Label.model_version, Label.variant, Label.correction_id, Label.categorized_at,
                  TransactionRow.description, TransactionRow.amount)


def current_labels(session: Session, source: str, transaction_ids: Sequence[str]) -> dict[str, CurrentLabel]:
    """The labels of these transactions of ``source`` that exist, by transaction id."""
    query = (select(*_LABEL_COLUMNS)
             .join(TransactionRow, (TransactionRow.source == Label.source)
                   & (TransactionRow.transaction_id == Label.transaction_id))
             .where(Label.source == source, Label.transaction_id.in_(list(transaction_ids))))
    return {row.transaction_id: CurrentLabel(**row._asdict()) for row in session.execute(query)}


def stored_transactions(session: Session, source: str, transaction_ids: Sequence[str]) -> set[str]:
    """Which of these transaction ids ``source`` has sent."""
    query = select(TransactionRow.transaction_id).where(TransactionRow.source == source,
                                                        TransactionRow.transaction_id.in_(list(transaction_ids)))
    return set(session.scalars(query))


def reviewed_transactions(session: Session, source: str, transaction_ids: Sequence[str]) -> set[str]:
    """Which of these transactions have a review already."""
    query = select(Correction.transaction_id).where(Correction.source == source,
                                                    Correction.transaction_id.in_(list(transaction_ids)))
    return set(session.scalars(query))


def reviewed_categories(session: Session) -> set[str]:
    """Every category reviewers have given (new ones accepted with ``--allow-new-category`` included)."""
    return set(session.scalars(select(Correction.category).distinct()))


def add_correction(session: Session, values: dict[str, Any]) -> int:
    """Append one review; returns its id."""
    return int(session.execute(insert(Correction).values(**values).returning(Correction.id)).scalar_one())


def archive_label(session: Session, label: CurrentLabel, replaced_by: str) -> None:
    """Keep a label in ``label_history`` before it is replaced."""
    session.execute(insert(LabelHistory).values(
        source=label.source, transaction_id=label.transaction_id, category=label.category,
        confidence=label.confidence, decided_by=label.decided_by, rule_id=label.rule_id,
        model_version=label.model_version, variant=label.variant, correction_id=label.correction_id,
        categorized_at=label.categorized_at, replaced_by=replaced_by))


def override_label(session: Session, label: CurrentLabel, *, category: str, correction_id: int,
                   reviewer: str | None) -> None:
    """Replace a label with a reviewer's category (``decided_by='override'``); the old one goes to history."""
    archive_label(session, label, f"correction:{correction_id}")
    session.execute(
        update(Label).where(Label.source == label.source, Label.transaction_id == label.transaction_id)
        .values(category=category, confidence=OVERRIDE_CONFIDENCE, confidence_level="very_high",
                decided_by="override", rule_id=None, model_version=None, needs_review=False,
                correction_id=correction_id, categorized_at=func.now(),
                explanation=f"override: correction {correction_id}" + (f" by {reviewer}" if reviewer else "")))


def live_accuracy(session: Session, *, since: dt.datetime, min_reviews: int) -> dict[str, Any]:
    """Confirmations over reviews of pipeline labels (overrides excluded), overall and per variant and model.

    ``accuracy`` is None where fewer than ``min_reviews`` reviews back it.
    """
    confirmed = func.sum(case((Correction.kind == "confirmation", 1), else_=0))
    query = (select(Correction.variant, Correction.model_version, func.count(), confirmed)
             .where(Correction.created_at >= since, Correction.previous_decided_by != "override")
             .group_by(Correction.variant, Correction.model_version)
             .order_by(Correction.variant, Correction.model_version))
    groups = [{"variant": variant, "model_version": version or "none", "reviews": int(n),
               "confirmations": int(ok or 0)} for variant, version, n, ok in session.execute(query)]
    reviews = sum(g["reviews"] for g in groups)
    confirmations = sum(g["confirmations"] for g in groups)

    def accuracy(n: int, ok: int) -> float | None:
        return round(ok / n, 4) if n >= min_reviews else None

    for group in groups:
        group["accuracy"] = accuracy(group["reviews"], group["confirmations"])
    return {"reviews": reviews, "confirmations": confirmations, "accuracy": accuracy(reviews, confirmations),
            "min_reviews": min_reviews, "per_variant": groups}


def recent_accuracy(session: Session, settings: Settings) -> dict[str, Any]:
    """``live_accuracy`` over the configured window (``MANNA_ACCURACY_WINDOW_MINUTES``)."""
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=settings.accuracy_window_minutes)
    return live_accuracy(session, since=since, min_reviews=settings.accuracy_min_reviews)


@dataclass(frozen=True, slots=True)
class ReviewedLine:
    """A reviewed transaction as a training example: its line, amount and the reviewer's category."""

    correction_id: int
    description: str
    amount: Decimal
    category: str
    merchant_key: str


def reviewed_lines(session: Session, up_to_id: int) -> list[ReviewedLine]:
    """The newest review of every reviewed transaction, up to a correction id (oldest first)."""
    newest = (select(func.max(Correction.id)).where(Correction.id <= up_to_id)
              .group_by(Correction.source, Correction.transaction_id))
    query = (select(Correction.id, TransactionRow.description, TransactionRow.amount, Correction.category,
                    Correction.merchant_key)
             .join(TransactionRow, (TransactionRow.source == Correction.source)
                   & (TransactionRow.transaction_id == Correction.transaction_id))
             .where(Correction.id.in_(newest)).order_by(Correction.id))
    return [ReviewedLine(int(i), d, a, c, k) for i, d, a, c, k in session.execute(query)]


def newest_correction_id(session: Session) -> int:
    """The id of the newest review (0 when there is none)."""
    return int(session.scalar(select(func.max(Correction.id))) or 0)
