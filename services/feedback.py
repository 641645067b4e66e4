"""Record reviews: confirmations and corrections, overrides that stick, and the merchant memory.

The one place a review is decided, for ``manna feedback import`` and ``POST /api/v1/ml/feedback``.
A review is checked against the database (does the transaction exist and carry a label, is the
category one the serving model knows, was it reviewed already) and then stored in one go: the
``corrections`` row, the override of the label (the old label kept in ``label_history``) and the
merchant memory that decides the merchant's next lines.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.orm import Session

from db.engine import session_scope
from db.feedback import (
    OVERRIDE_CONFIDENCE,
    CurrentLabel,
    add_correction,
    current_labels,
    override_label,
    reviewed_categories,
    reviewed_transactions,
    stored_transactions,
)
from db.memory import remember
from pipeline.feedback import Review, ReviewRejection, parse_reviews
from pipeline.memory import direction
from pipeline.normalize import merchant_key
from pipeline.settings import Settings
from pipeline.taxonomy import default_taxonomy, taxonomy_of
from services.runtime import runtime

BATCH = 500  # reviews checked and stored per transaction


@dataclass
class FeedbackResult:
    """What became of a batch of reviews."""

    confirmations: int = 0
    corrections: int = 0
    new_categories: set[str] = field(default_factory=set)
    rejected: list[ReviewRejection] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        """Reviews stored."""
        return self.confirmations + self.corrections

    def as_dict(self) -> dict[str, Any]:
        """The JSON answer of the CLI and the API."""
        return {"accepted": self.accepted, "rejected": len(self.rejected),
                "reasons": dict(Counter(r.reason for r in self.rejected).most_common()),
                "confirmations": self.confirmations, "corrections": self.corrections,
                "new_categories": sorted(self.new_categories),
                "rejections": [{"index": r.index, "source": r.source, "transaction_id": r.transaction_id,
                                "reason": r.reason, "detail": r.detail} for r in self.rejected]}


def serving_taxonomy() -> set[str]:
    """The categories the active model and its rules can give (ours in full for a model of our taxonomy)."""
    rt = runtime()
    categorizer = rt.categorizer(rt.experiment().active_version)
    model = categorizer.model
    classes = {str(c) for c in model.classes} if model else set(default_taxonomy().categories)
    return taxonomy_of(classes) | {rule.category for rule in categorizer.rules.rules}


def record_feedback(settings: Settings, rows: Iterable[Any], *, allow_new_category: bool = False,
                    channel: str = "cli") -> FeedbackResult:
    """Check and store reviews; every well-formed, known, new review is kept whatever the others are."""
    reviews, rejected = parse_reviews(rows)
    result = FeedbackResult(rejected=rejected)
    known: set[str] | None = None
    for start in range(0, len(reviews), BATCH):
        with session_scope(settings.effective_database_url) as session:
            if known is None:
                known = serving_taxonomy() | reviewed_categories(session)
            _record_batch(session, reviews[start:start + BATCH], known, allow_new_category, channel, result)
    result.rejected.sort(key=lambda r: r.index)
    return result


def _record_batch(session: Session, reviews: list[Review], known: set[str], allow_new_category: bool, channel: str,
                  result: FeedbackResult) -> None:
    by_source: dict[str, list[Review]] = {}
    for review in reviews:
        by_source.setdefault(review.source, []).append(review)
    for source, group in by_source.items():
        ids = sorted({r.transaction_id for r in group})
        labels = current_labels(session, source, ids)
        stored = stored_transactions(session, source, [i for i in ids if i not in labels])
        reviewed = reviewed_transactions(session, source, ids)
        for review in group:  # in input order: a later row of the same file sees what an earlier one did
            label = labels.get(review.transaction_id)
            problem = _problem(review, label, stored, reviewed, known, allow_new_category)
            if problem is not None:
                result.rejected.append(ReviewRejection(review.index, source, review.transaction_id, *problem))
                continue
            assert label is not None
            labels[review.transaction_id] = _store(session, review, label, channel, result, known)
            reviewed.add(review.transaction_id)


def _problem(review: Review, label: CurrentLabel | None, stored: set[str], reviewed: set[str], known: set[str],
             allow_new_category: bool) -> tuple[str, str] | None:
    if label is None:
        if review.transaction_id in stored:
            return "transaction:not_labeled", "the transaction has no label yet: send the review once its job finished"
        return "transaction:unknown", f"source {review.source!r} sent no transaction {review.transaction_id!r}"
    if review.transaction_id in reviewed and review.category == label.category:
        return "review:duplicate", f"already reviewed as {label.category!r}"
    if review.category not in known and not allow_new_category:
        return "category:unknown", (f"{review.category!r} is not a category of the serving model: check the "
                                    "spelling, or accept it with --allow-new-category (API: allow_new_category)")
    return None


def _store(session: Session, review: Review, label: CurrentLabel, channel: str, result: FeedbackResult,
           known: set[str]) -> CurrentLabel:
    """Append the review; a correction also overrides the label and teaches the merchant memory."""
    confirms = review.category == label.category
    key = (merchant_key(label.description), direction(float(label.amount)))
    correction_id = add_correction(session, {
        "source": review.source, "transaction_id": review.transaction_id, "category": review.category,
        "kind": "confirmation" if confirms else "correction", "new_category": review.category not in known,
        "merchant_key": key[0], "direction": key[1], "previous_category": label.category,
        "previous_decided_by": label.decided_by, "previous_rule_id": label.rule_id,
        "previous_confidence": label.confidence, "model_version": label.model_version, "variant": label.variant,
        "reviewer": review.reviewer, "note": review.note, "channel": channel})
    if review.category not in known:
        result.new_categories.add(review.category)
        known.add(review.category)
    if confirms:
        result.confirmations += 1
        return label
    result.corrections += 1
    override_label(session, label, category=review.category, correction_id=correction_id, reviewer=review.reviewer)
    remember(session, source=review.source, key=key, category=review.category, correction_id=correction_id)
    return replace(label, category=review.category, confidence=OVERRIDE_CONFIDENCE, decided_by="override",
                   rule_id=None, model_version=None, correction_id=correction_id)
