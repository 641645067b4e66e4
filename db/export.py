"""Read labels out of the ``categorized_transactions`` view in batches, for ``manna export``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

COLUMNS = ("source", "transaction_id", "account_id", "description", "amount", "currency", "category", "confidence",
           "confidence_level", "decided_by", "rule_id", "model_version", "variant", "job_id", "categorized_at",
           "needs_review", "correction_id")


def categorized_rows(session: Session, *, job_id: str | None = None, source: str | None = None,
                     since: dt.datetime | None = None, batch_size: int = 10_000) -> Iterator[list[dict[str, Any]]]:
    """Batches of the view's rows for a job, or for a source (optionally labeled since ``since``), in id order.

    Keyset pagination: each batch is one short query, so a large export holds no transaction open.
    """
    if (job_id is None) == (source is None):
        raise ValueError("give a job or a source")
    where = ["job_id = :job_id"] if job_id is not None else ["source = :source"]
    if since is not None:
        where.append("categorized_at >= :since")
    params: dict[str, Any] = {"job_id": job_id, "source": source, "since": since, "limit": batch_size}
    after = ("", "")
    while True:
        query = text(f"SELECT {', '.join(COLUMNS)} FROM categorized_transactions "
                     f"WHERE {' AND '.join(where)} AND (source, transaction_id) > (:after_source, :after_id) "
                     "ORDER BY source, transaction_id LIMIT :limit")
        rows = [_typed(row._mapping) for row in session.execute(query, {**params, "after_source": after[0],
                                                                          "after_id": after[1]})]
        if not rows:
            return
        yield rows
        after = (rows[-1]["source"], rows[-1]["transaction_id"])


def _typed(row: Mapping[Any, Any]) -> dict[str, Any]:
    """The same Python types from SQLite (which hands back floats, 0/1 and text) as from Postgres."""
    typed = dict(row)
    typed["amount"] = None if row["amount"] is None else Decimal(str(row["amount"]))
    typed["needs_review"] = None if row["needs_review"] is None else bool(row["needs_review"])
    at = row["categorized_at"]
    if at is not None and not isinstance(at, dt.datetime):
        at = dt.datetime.fromisoformat(str(at))
    typed["categorized_at"] = at if at is None or at.tzinfo else at.replace(tzinfo=dt.UTC)
    return typed
