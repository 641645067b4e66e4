"""Merchant memory: what reviewers taught about a merchant of a source, applied before rules and model.

A memory key is (merchant key, direction): a correction of a purchase at a merchant says nothing
about a refund from it. The store behind it (``db/memory.py``) is reached through a lookup
function, so this module and the categorizer stay pure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

MemoryKey = tuple[str, int]  # merchant key, direction (-1 money out, 1 money in, 0 neither)
MEMORY_CONFIDENCE = 0.99


@dataclass(frozen=True, slots=True)
class Remembered:
    """The category reviewers gave a merchant, and the newest correction that says so."""

    category: str
    correction_id: int


MemoryLookup = Callable[[Sequence[MemoryKey]], Mapping[MemoryKey, Remembered]]


def direction(amount: float) -> int:
    """-1 for money out, 1 for money in, 0 for a zero amount."""
    return (amount > 0) - (amount < 0)


def next_streak(current_category: str | None, current_streak: int, category: str) -> int:
    """How many of a key's newest corrections agree once one naming ``category`` arrives."""
    return current_streak + 1 if category == current_category else 1


def dict_memory(entries: Mapping[MemoryKey, Remembered]) -> MemoryLookup:
    """A lookup over a plain mapping (offline runs and tests)."""
    return lambda keys: {key: entries[key] for key in keys if key in entries}
