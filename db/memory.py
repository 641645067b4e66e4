"""Merchant memory in the database: one row per (source, merchant key, direction)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.bulk import upsert_ignore
from db.engine import session_scope
from db.models import MerchantMemory
from pipeline.memory import MemoryKey, MemoryLookup, Remembered, next_streak


def remember(session: Session, *, source: str, key: MemoryKey, category: str, correction_id: int) -> None:
    """Record a correction for a merchant: the newest wins, and agreeing ones extend the streak."""
    merchant_key, direction = key
    values = {"source": source, "merchant_key": merchant_key, "direction": direction, "category": category,
              "correction_id": correction_id, "streak": 1}
    if upsert_ignore(session, MerchantMemory, values):
        return
    row = session.get(MerchantMemory, (source, merchant_key, direction), with_for_update=True)
    assert row is not None
    row.streak = next_streak(row.category, row.streak, category)
    row.category, row.correction_id, row.updated_at = category, correction_id, func.now()
    session.flush()


def remembered(session: Session, source: str, keys: Sequence[MemoryKey], min_agreement: int
               ) -> dict[MemoryKey, Remembered]:
    """The memory entries of ``source`` for these keys that enough corrections agree on."""
    if not keys:
        return {}
    wanted = set(keys)
    query = select(MerchantMemory.merchant_key, MerchantMemory.direction, MerchantMemory.category,
                   MerchantMemory.correction_id).where(
        MerchantMemory.source == source, MerchantMemory.merchant_key.in_(sorted({k for k, _ in wanted})),
        MerchantMemory.streak >= min_agreement)
    return {(key, direction): Remembered(category, int(correction_id))
            for key, direction, category, correction_id in session.execute(query) if (key, direction) in wanted}


def memory_lookup(database_url: str, source: str, min_agreement: int) -> MemoryLookup:
    """A lookup for the categorizer: one query per chunk, in a session of its own."""

    def lookup(keys: Sequence[MemoryKey]) -> Mapping[MemoryKey, Remembered]:
        with session_scope(database_url) as session:
            return remembered(session, source, keys, min_agreement)

    return lookup
