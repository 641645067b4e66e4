"""A chunk's work, shared by ``manna.categorize_chunk`` and ``manna.submit_batch`` (which runs a
message that makes a single chunk itself): pick the variant, categorize, commit labels and timings."""

from __future__ import annotations

import socket
import time
from typing import Any

from db.jobs import commit_chunk, label_row
from db.queries import CHUNK_TASK
from pipeline.categorize import ChunkReport
from pipeline.schema import Transaction
from pipeline.variant import assign_variant, version_for
from services.runtime import runtime
from tasks.base import MannaTask


def categorize_and_commit(task: MannaTask, chunk_id: str, job_id: str, source: str,
                          transactions: list[Transaction], forced: str | None) -> tuple[int, str]:
    """Categorize one chunk and commit its labels, its count and its metrics row under ``chunk_id``.

    The chunk's id, not the running task's, keys the variant and the bookkeeping: the same rows get
    the same variant and count once however they arrive (a chunk task, or inline in submit_batch).
    """
    started, waited = time.perf_counter(), task.queue_wait_ms()  # so waited + total_ms is publish to commit
    rt = runtime()
    experiment = rt.experiment()
    variant = assign_variant(chunk_id, experiment, forced)
    task.request.manna_variant = variant  # a failure of this run counts against its variant
    categorizer = rt.categorizer(version_for(variant, experiment))
    errors_before = rt.cache.errors
    report = categorizer.categorize(transactions, rt.memory.lookup(source))
    labels = [label_row(source, t.id, d, variant=variant, job_id=job_id, task_id=chunk_id, merchant_key=key)
              for t, d, key in zip(transactions, report.decisions, report.merchant_keys, strict=True)]
    metrics = _metrics(task, chunk_id, job_id, variant, categorizer.model_version, report,
                       rt.cache.errors - errors_before, waited)
    metrics["total_ms"] = (time.perf_counter() - started) * 1000.0
    with task.session() as session:
        written, progress = commit_chunk(session, task_id=chunk_id, job_id=job_id, labels=labels, metrics=metrics)
    task.send_callback(progress, {"job_id": job_id, "source": source, "status": progress.status})
    return written, variant


def _metrics(task: MannaTask, chunk_id: str, job_id: str, variant: str, model_version: str | None,
             report: ChunkReport, cache_errors: int, queue_wait_ms: float | None) -> dict[str, Any]:
    return {
        # A chunk's row whichever task ran it: every figure over chunks reads these rows.
        "task_id": chunk_id, "task_name": CHUNK_TASK, "job_id": job_id, "variant": variant,
        "model_version": model_version, "rows": len(report.decisions), "unique_rows": report.unique,
        "memory_hits": report.memory_hits, "cache_hits": report.cache_hits, "rule_hits": report.rule_hits,
        "model_hits": report.model_hits, "merchant_cache_hits": report.merchant_cache_hits,
        "fallbacks": report.fallbacks, "queue_wait_ms": queue_wait_ms, "cache_errors": cache_errors,
        "worker": task.request.hostname or socket.gethostname(),
        **{f"{stage}_ms": round(ms, 3) for stage, ms in report.timings_ms.items()},
    }
