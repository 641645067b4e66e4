"""``manna.categorize_chunk``: one chunk of a message larger than a chunk, or one sent again."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from db.queries import CHUNK_TASK
from pipeline.schema import Transaction
from pipeline.variant import parse_forced_variant
from tasks.base import MannaTask
from tasks.chunks import categorize_and_commit


@shared_task(bind=True, base=MannaTask, name=CHUNK_TASK)
def categorize_chunk(self: MannaTask, job_id: str, source: str, transactions: list[dict[str, Any]],
                     force_variant: str | None = None) -> dict[str, Any]:
    """One chunk, start to finish; safe to run twice (labels and counts are idempotent)."""
    rows = [Transaction.from_message(row) for row in transactions]
    written, variant = categorize_and_commit(self, self.request.id, job_id, source, rows,
                                             parse_forced_variant(force_variant))
    return {"job_id": job_id, "labeled": written, "variant": variant}
