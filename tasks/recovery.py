"""``manna.recover_stalled_jobs`` (beat, every 5 minutes): send again the chunks a broker crash lost.

Redis hands a message to a worker with BRPOP and records it as unacknowledged only afterwards.
A broker that dies between the two loses that message. Every accepted transaction is already in
Postgres, so a job that stopped making progress is completed from there: each chunk that never
committed is sent again under its own task id, with the job's unlabeled transactions. Labels and
chunk counts stay exact (``db/jobs.py``).
"""

from __future__ import annotations

import logging

from celery import shared_task

from db.jobs import missing_chunks, stalled_jobs
from services.runtime import runtime
from tasks.base import MannaTask

log = logging.getLogger(__name__)


@shared_task(bind=True, base=MannaTask, name="manna.recover_stalled_jobs")
def recover_stalled_jobs(self: MannaTask) -> dict[str, int]:
    """Re-send the missing chunks of every stalled job; returns how many jobs and chunks."""
    with self.session() as session:
        job_ids = stalled_jobs(session, runtime().settings.effective_stall_seconds)
        plans = {job_id: missing_chunks(session, job_id) for job_id in job_ids}
    for job_id, missing in plans.items():
        for chunk in missing:
            self.publish("manna.categorize_chunk", queue="categorize", task_id=chunk.task_id, kwargs={
                "job_id": job_id, "source": chunk.source, "force_variant": None,
                "transactions": [t.to_message() for t in chunk.transactions]})
        idle = runtime().settings.effective_stall_seconds
        if missing:
            log.warning("job %s made no progress for %d s: sent %d missing chunk(s) again", job_id, idle, len(missing))
        else:
            log.warning("job %s made no progress for %d s and every chunk it knows of committed: a message of it "
                        "may be lost before it reached the database; its producer should send the job again",
                        job_id, idle)
    return {"jobs": len(plans), "chunks": sum(len(missing) for missing in plans.values())}
