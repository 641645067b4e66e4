"""How a message becomes chunk tasks: a content key for the message, stable ids for its chunks.

Both are derived from the message itself, so a redelivered or re-sent message yields the same
keys and ids (and the same A/B variant per chunk) as the first delivery.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.schema import Transaction

CHUNK_NAMESPACE = uuid.UUID("6f1c9a52-3c1e-4d8e-9a57-1d0b8f3e2a10")


@dataclass(frozen=True, slots=True)
class Chunk:
    """One unit of categorize work and the task id it always runs under."""

    task_id: str
    transactions: Sequence[Transaction]


def batch_key(source: str, transactions: Any) -> str:
    """A key for a message's content: the same message always gets the same key."""
    canonical = json.dumps([source, transactions], sort_keys=True, default=str, ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def plan_chunks(transactions: Sequence[Transaction], *, source: str, job_id: str, key: str, size: int) -> list[Chunk]:
    """Consecutive chunks of at most ``size`` rows, each with a deterministic task id."""
    return [
        Chunk(chunk_task_id(source, job_id, key, n), transactions[start : start + size])
        for n, start in enumerate(range(0, len(transactions), size))
    ]


def chunk_task_id(source: str, job_id: str, key: str, n: int) -> str:
    """The task id of a message's ``n``-th chunk, always the same."""
    return str(uuid.uuid5(CHUNK_NAMESPACE, f"{source}/{job_id}/{key}/{n}"))
