"""`manna failed list|redrive`: work whose retries ran out comes through afterwards, counted once."""

from __future__ import annotations

import subprocess
import sys
import uuid

from sqlalchemy import select

from db.engine import session_scope
from db.failures import record_failure
from db.jobs import record_batch
from db.models import FailedTask, Label
from pipeline.chunks import batch_key, plan_chunks
from pipeline.generate import Generator
from pipeline.schema import validate_batch
from tests.integration.conftest import ROOT, stack_env, wait_for_job


def _manna(settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=ROOT, env=stack_env(settings),
                          capture_output=True, text=True, timeout=120)


def test_failed_chunks_recorded_in_the_database_or_the_spool_are_redriven_to_exact_counts(worker, stack_settings):
    url = stack_settings.effective_database_url
    job_id = f"redrive-{uuid.uuid4().hex[:8]}"
    rows = Generator(41).rows(1_500, id_prefix=f"{job_id}-")
    batch = validate_batch(rows, stack_settings.model_copy(update={"max_message_transactions": 2_000}))
    key = batch_key(job_id, rows)
    with session_scope(url) as session:  # what submit_batch stores before it publishes the chunks
        fresh, _ = record_batch(session, job_id=job_id, source=job_id, batch_key=key, accepted=batch.accepted,
                                positions=batch.positions, rejected=batch.rejected, callback=None, chunk_size=1_000)
    first, second = plan_chunks(fresh, source=job_id, job_id=job_id, key=key, size=1_000)
    kwargs = [{"job_id": job_id, "source": job_id, "force_variant": None,
               "transactions": [t.to_message() for t in chunk.transactions]} for chunk in (first, second)]
    # Both chunks ran out of retries: one failure reached the database, one only the spool.
    record_failure(url, stack_settings.failure_spool, task_id=first.task_id, task_name="manna.categorize_chunk",
                   kwargs=kwargs[0], error="OperationalError: server closed the connection", retries=8)
    record_failure("postgresql+psycopg2://nobody@127.0.0.1:1/none", stack_settings.failure_spool,
                   task_id=second.task_id, task_name="manna.categorize_chunk", kwargs=kwargs[1],
                   error="OperationalError: connection refused", retries=8)

    listed = _manna(stack_settings, "failed", "list")
    assert listed.returncode == 0, listed.stderr
    assert "imported 1 failure" in listed.stderr
    assert first.task_id in listed.stdout and second.task_id in listed.stdout
    with session_scope(url) as session:
        ids = [str(i) for i in session.scalars(select(FailedTask.id).where(
            FailedTask.task_id.in_([first.task_id, second.task_id])))]
    assert len(ids) == 2

    redriven = _manna(stack_settings, "failed", "redrive", *ids)
    assert redriven.returncode == 0 and "re-drove 2" in redriven.stderr, redriven.stderr
    job = wait_for_job(url, job_id, expected_received=1_500)
    assert (job["accepted"], job["labeled"], job["chunks_done"], job["chunks_total"]) == (1_500, 1_500, 2, 2)
    with session_scope(url) as session:
        labels = session.scalars(select(Label.transaction_id).where(Label.job_id == job_id)).all()
    assert sorted(labels) == sorted(r["id"] for r in rows)

    assert first.task_id not in _manna(stack_settings, "failed", "list").stdout
    again = _manna(stack_settings, "failed", "redrive", ids[0])
    assert again.returncode == 1 and "not pending" in again.stderr  # nothing matched: exit 1, as not-found is
