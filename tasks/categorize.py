"""``manna.categorize_chunk``: pick the variant, categorize, write labels and timings in one commit."""

from __future__ import annotations

import socket
import time
from typing import Any

from celery import shared_task

from db.jobs import commit_chunk, label_row
from pipeline.categorize import ChunkReport
from pipeline.schema import Transaction
from pipeline.variant import assign_variant, parse_forced_variant, version_for
from services.runtime import runtime
from tasks.base import MannaTask


@shared_task(bind=True, base=MannaTask, name="manna.categorize_chunk")
def categorize_chunk(self: MannaTask, job_id: str, source: str, transactions: list[dict[str, Any]],
                     force_variant: str | None = None) -> dict[str, Any]:
    """One chunk, start to finish; safe to run twice (labels and counts are idempotent)."""
    started = time.perf_counter()
    rt = runtime()
    experiment = rt.experiment()
    variant = assign_variant(self.request.id, experiment, parse_forced_variant(force_variant))
    self.request.manna_variant = variant  # a failure of this run counts against its variant
    categorizer = rt.categorizer(version_for(variant, experiment))
    errors_before = rt.cache.errors
    report = categorizer.categorize([Transaction.from_message(row) for row in transactions], rt.memory.lookup(source))
    labels = [label_row(source, row["id"], d, variant=variant, job_id=job_id, task_id=self.request.id,
                        merchant_key=key)
              for row, d, key in zip(transactions, report.decisions, report.merchant_keys, strict=True)]
    metrics = _metrics(self, job_id, variant, categorizer.model_version, report, rt.cache.errors - errors_before)
    metrics["total_ms"] = (time.perf_counter() - started) * 1000.0
    with self.session() as session:
        written, progress = commit_chunk(session, task_id=self.request.id, job_id=job_id, labels=labels,
                                         metrics=metrics)
    self.send_callback(progress, {"job_id": job_id, "source": source, "status": progress.status})
    return {"job_id": job_id, "labeled": written, "variant": variant}


def _metrics(task: MannaTask, job_id: str, variant: str, model_version: str | None, report: ChunkReport,
             cache_errors: int) -> dict[str, Any]:
    return {
        "task_id": task.request.id, "task_name": task.name, "job_id": job_id, "variant": variant,
        "model_version": model_version, "rows": len(report.decisions), "unique_rows": report.unique,
        "memory_hits": report.memory_hits, "cache_hits": report.cache_hits, "rule_hits": report.rule_hits,
        "model_hits": report.model_hits,
        "fallbacks": report.fallbacks, "queue_wait_ms": task.queue_wait_ms(), "cache_errors": cache_errors,
        "worker": task.request.hostname or socket.gethostname(),
        **{f"{stage}_ms": round(ms, 3) for stage, ms in report.timings_ms.items()},
    }
