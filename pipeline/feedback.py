"""Reviews of labels (``manna feedback import``, ``POST /api/v1/ml/feedback``): their shape, checked.

A review names a label by ``source`` and ``transaction_id`` and gives the ``category`` it should
have. The same category as the current label confirms it; another corrects it. What can be told
from the row alone is checked here; what needs the database (does the transaction exist, is the
category known, was it reviewed already) is checked by ``services/feedback.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.readers import duplicated_columns, header_hint
from pipeline.schema import RowError, as_object

REQUIRED = ("source", "transaction_id", "category")
OPTIONAL = ("reviewer", "note")
LIMITS = {"source": 64, "transaction_id": 128, "category": 128, "reviewer": 128, "note": 2000}


class FeedbackFileError(ValueError):
    """A feedback file that cannot be read at all (its header is wrong)."""


@dataclass(frozen=True, slots=True)
class Review:
    """One well-formed review, with its position in the input."""

    index: int
    source: str
    transaction_id: str
    category: str
    reviewer: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ReviewRejection:
    """A review refused, with a machine-readable ``reason`` (``<field>:<problem>``) and a human detail."""

    index: int
    source: str | None
    transaction_id: str | None
    reason: str
    detail: str


def check_header(columns: Sequence[str]) -> None:
    """Refuse a header that misses a required column or has one we do not know (a typo loses data)."""
    missing = [c for c in REQUIRED if c not in columns]
    unknown = [c for c in columns if c not in REQUIRED + OPTIONAL]
    twice = duplicated_columns(columns, REQUIRED + OPTIONAL)
    problems = ([f"missing column(s) {', '.join(missing)}"] if missing else []) + (
        [f"unknown column(s) {', '.join(unknown)}"] if unknown else []) + (
        [f"column(s) {', '.join(twice)} more than once"] if twice else [])
    if problems:
        raise FeedbackFileError(f"{'; '.join(problems)}{header_hint(columns, missing)}: the columns are "
                                f"{', '.join(REQUIRED)} and optionally "
                                f"{', '.join(OPTIONAL)}")


def parse_reviews(rows: Iterable[Any]) -> tuple[list[Review], list[ReviewRejection]]:
    """Split raw rows into well-formed reviews and rejections, keeping input positions."""
    reviews: list[Review] = []
    rejected: list[ReviewRejection] = []
    for index, raw in enumerate(rows):
        try:
            row = as_object(raw)
        except RowError as err:
            reason = "row:malformed" if err.reason == "row:not_an_object" else err.reason
            rejected.append(ReviewRejection(index, None, None, reason, f"not a record: {str(raw)[:200]}"
                                            if reason == "row:malformed" else err.detail))
            continue
        problem = _problem(row)
        source, transaction_id = _text(row.get("source")), _text(row.get("transaction_id"))
        if problem is not None:
            rejected.append(ReviewRejection(index, _shown(source), _shown(transaction_id), *problem))
            continue
        assert source is not None and transaction_id is not None
        reviews.append(Review(index, source, transaction_id, str(_text(row["category"])),
                              _text(row.get("reviewer")), _text(row.get("note"))))
    return reviews, rejected


def _problem(row: dict[str, Any]) -> tuple[str, str] | None:
    unknown = sorted(str(k) for k in row if k not in REQUIRED + OPTIONAL)
    if unknown:
        return "row:unknown_field", f"unknown field(s) {', '.join(unknown)}"
    for name in REQUIRED + OPTIONAL:
        value = row.get(name)
        if value is not None and not isinstance(value, str):
            return f"{name}:invalid", f"{name} must be a string, not {type(value).__name__}"
        text = _text(value)
        if text is None:
            if name in REQUIRED:
                return f"{name}:missing", f"{name} is required"
            continue
        if len(text) > LIMITS[name]:
            return f"{name}:too_long", f"{name} is longer than {LIMITS[name]} characters"
        if "\x00" in text or not _encodes(text):
            return f"{name}:invalid", f"{name} holds a NUL character or text that is not valid Unicode"
    return None


def _shown(text: str | None) -> str | None:
    """Text safe to echo back in a report: what cannot be encoded becomes '?'."""
    return None if text is None else text.encode("utf-8", "replace").decode("utf-8")


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def _text(value: Any) -> str | None:
    """A stripped string, or None for a missing or blank one (CSV readers give None or '')."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None
