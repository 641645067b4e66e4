"""Merchant memory in the database: one row per (source, merchant key, direction), and a generation per source.

Every chunk needs its source's memory, and it must never be stale: a correction decides the next
chunk. Reading the rows for each chunk cost 4-8 ms of a 175 ms chunk on Postgres, so each process
keeps every source's memory it has used and checks one number per chunk: the source's generation,
bumped in the same transaction as any change to its memory. Only a changed generation reloads.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.bulk import upsert_ignore
from db.engine import get_engine
from db.models import MemoryGeneration, MerchantMemory
from pipeline.memory import MemoryKey, MemoryLookup, Remembered, next_streak


def remember(session: Session, *, source: str, key: MemoryKey, category: str, correction_id: int) -> None:
    """Record a correction for a merchant: the newest wins, and agreeing ones extend the streak."""
    _bump_generation(session, source)  # first: concurrent corrections of a source queue on this row
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


def _bump_generation(session: Session, source: str) -> None:
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(MemoryGeneration).values(source=source, generation=1)
    session.execute(statement.on_conflict_do_update(
        index_elements=[MemoryGeneration.source], set_={"generation": MemoryGeneration.generation + 1}))


class MemoryStore:
    """This process's copy of each source's memory, reloaded when the source's generation moves."""

    def __init__(self, database_url: str, min_agreement: int) -> None:
        self.database_url = database_url
        self.min_agreement = min_agreement
        self._sources: dict[str, tuple[int, dict[MemoryKey, Remembered]]] = {}
        self._lock = threading.Lock()

    def lookup(self, source: str) -> MemoryLookup:
        """The categorizer's lookup for ``source``: it reads the generation when called, once per chunk."""

        def find(keys: Sequence[MemoryKey]) -> Mapping[MemoryKey, Remembered]:
            entries = self.entries(source)
            return {key: entries[key] for key in keys if key in entries}

        return find

    def entries(self, source: str) -> dict[MemoryKey, Remembered]:
        """Every memory entry of ``source`` that enough corrections agree on, current as of now."""
        with get_engine(self.database_url).connect() as connection:
            generation = connection.execute(select(MemoryGeneration.generation)
                                            .where(MemoryGeneration.source == source)).scalar() or 0
            with self._lock:
                cached = self._sources.get(source)
            if cached is not None and cached[0] == generation:
                return cached[1]
            rows = connection.execute(select(MerchantMemory.merchant_key, MerchantMemory.direction,
                                             MerchantMemory.category, MerchantMemory.correction_id)
                                      .where(MerchantMemory.source == source,
                                             MerchantMemory.streak >= self.min_agreement))
            entries = {(key, direction): Remembered(category, int(cid)) for key, direction, category, cid in rows}
        with self._lock:
            self._sources[source] = (generation, entries)
        return entries
