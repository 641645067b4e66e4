"""How a message becomes chunk tasks: a content key for the message, stable ids for its chunks.

Both are derived from the message itself, so a redelivered or re-sent message yields the same
keys and ids (and the same A/B variant per chunk) as the first delivery.

Upgrade note: the key of a message that JSON can carry changed when it moved from hashing
``json.dumps(sort_keys=True)`` to hashing sorted-key MessagePack (a seventh of the CPU). A message
first stored by an older worker and redelivered to a newer one during the upgrade gets a new key:
it counts as a second message of its job, its rows are rejected as ``id:already_received`` (never
stored twice), and chunks the first delivery left undone are found by ``manna.recover_stalled_jobs``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from pipeline.schema import Transaction

CHUNK_NAMESPACE = uuid.UUID("6f1c9a52-3c1e-4d8e-9a57-1d0b8f3e2a10")
# Sorted keys: equal dicts give equal bytes. MessagePack keeps NaN, Infinity and null apart (JSON codecs
# such as orjson write all three as null) and int, float and string apart, as json.dumps did.
_ENCODER = msgspec.msgpack.Encoder(order="sorted")


@dataclass(frozen=True, slots=True)
class Chunk:
    """One unit of categorize work and the task id it always runs under."""

    task_id: str
    transactions: Sequence[Transaction]


def batch_key(source: str, transactions: Any) -> str:
    """A key for a message's content: the same message always gets the same key."""
    try:
        canonical = _ENCODER.encode([source, transactions])
    except (TypeError, ValueError, OverflowError):  # an int over 64 bits, a lone surrogate, a key not a string
        # The former key; it never equals a MessagePack one (that starts with byte 0x92, JSON with "[").
        canonical = json.dumps([source, transactions], sort_keys=True, default=str, ensure_ascii=True).encode()
    return hashlib.sha256(canonical).hexdigest()[:32]


def plan_chunks(transactions: Sequence[Transaction], *, source: str, job_id: str, key: str, size: int) -> list[Chunk]:
    """Consecutive chunks of at most ``size`` rows, each with a deterministic task id."""
    return [
        Chunk(chunk_task_id(source, job_id, key, n), transactions[start : start + size])
        for n, start in enumerate(range(0, len(transactions), size))
    ]


def chunk_task_id(source: str, job_id: str, key: str, n: int) -> str:
    """The task id of a message's ``n``-th chunk, always the same."""
    return str(uuid.uuid5(CHUNK_NAMESPACE, f"{source}/{job_id}/{key}/{n}"))
