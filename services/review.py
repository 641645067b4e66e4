"""The review queue for people (CLI, API) and its measured quality against known categories."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from db.engine import session_scope
from db.review import review_queue, source_labels
from pipeline.review import ranking_quality, why_listed
from pipeline.settings import Settings


def review_entries(settings: Settings, *, limit: int, source: str | None = None,
                   since: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The queue, best correction first, each entry with why it is listed."""
    with session_scope(settings.effective_database_url) as session:
        queue = review_queue(session, limit=limit, source=source, since=since)
    return [{"rank": rank, "source": e["source"], "merchant_key": e["merchant_key"],
             "transaction_id": e["transaction_id"], "description": e["description"], "amount": str(e["amount"]),
             "category": e["category"], "confidence": round(float(e["confidence"]), 4),
             "decided_by": e["decided_by"], "labels": int(e["labels"]),
             "expected_errors": round(float(e["expected_errors"]), 2),
             "why": why_listed(e, settings.abstain_threshold)}
            for rank, e in enumerate(queue, start=1)]


def measure_queue(settings: Settings, *, source: str, truth: Mapping[str, str], limit: int = 100) -> dict[str, Any]:
    """How much likelier a label shown in the top of the queue is wrong than any label of the source."""
    entries = review_entries(settings, limit=limit, source=source)
    with session_scope(settings.effective_database_url) as session:
        labels = source_labels(session, source)
    return {"source": source, "top": limit, **ranking_quality(entries, labels, truth)}
