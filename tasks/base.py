"""The one base task: retries with backoff for transient faults, a session per run, failures recorded.

Exhausted retries end as a failure (never a silent success) and land in ``failed_tasks``.
"""

from __future__ import annotations

import logging
import time
import traceback
from contextlib import AbstractContextManager
from typing import Any

from celery import Task, signals
from celery.exceptions import SoftTimeLimitExceeded
from kombu.exceptions import OperationalError as BrokerError
from sqlalchemy.orm import Session

from db.engine import session_scope, transient_errors
from db.failures import record_failure
from db.jobs import JobProgress, mark_callback_sent
from pipeline.settings import get_settings
from tasks.runtime import runtime

log = logging.getLogger(__name__)
PUBLISHED_AT = "manna_published_at"


class InvalidPayload(ValueError):
    """A message whose arguments break the contract: retrying cannot help."""


class MannaTask(Task):  # type: ignore[misc]
    """Base for every ``manna.*`` task."""

    autoretry_for = (*transient_errors(), BrokerError, SoftTimeLimitExceeded)
    retry_backoff = 1
    retry_backoff_max = get_settings().retry_backoff_max
    retry_jitter = True
    max_retries = get_settings().task_max_retries
    default_retry_delay = 2  # also the delay before re-running work lost with a killed worker
    retry_on_worker_lost = True
    acks_late = True
    reject_on_worker_lost = True

    def session(self) -> AbstractContextManager[Session]:
        """The unit of work: one session, committed when the block ends, rolled back on error."""
        return session_scope(runtime().database_url)

    def queue_wait_ms(self) -> float | None:
        """Milliseconds between publishing (header set by our producers) and this run starting."""
        published = self.request.get(PUBLISHED_AT) or (self.request.headers or {}).get(PUBLISHED_AT)
        return max(0.0, (time.time() - float(published)) * 1000.0) if published else None

    def publish(self, name: str, kwargs: dict[str, Any], *, queue: str, task_id: str | None = None) -> None:
        """Send a task by name (tasks never import each other), stamped with the publish time."""
        self.app.send_task(name, kwargs=kwargs, queue=queue, task_id=task_id, headers={PUBLISHED_AT: time.time()})

    def send_callback(self, progress: JobProgress, summary: dict[str, Any]) -> None:
        """Send the job's callback by name once it finished; record it so it goes out once."""
        if not (progress.callback and progress.callback_pending):
            return
        self.app.send_task(progress.callback, kwargs=summary, queue=runtime().settings.callback_queue)
        with self.session() as session:
            mark_callback_sent(session, progress.job_id)


@signals.task_failure.connect
def _record_final_failure(
    sender: Task | None = None,
    task_id: str | None = None,
    exception: BaseException | None = None,
    kwargs: dict[str, Any] | None = None,
    einfo: Any = None,
    **_: Any,
) -> None:
    """Fires once retries are exhausted (or the error is not retryable)."""
    if sender is None or not str(getattr(sender, "name", "")).startswith("manna."):
        return
    settings = get_settings()
    detail = "".join(traceback.format_exception_only(type(exception), exception)).strip() if exception else ""
    retries = getattr(getattr(sender, "request", None), "retries", 0) or 0
    log.error("task %s[%s] failed for good: %s", sender.name, task_id, detail)
    record_failure(
        settings.effective_database_url,
        settings.failure_spool,
        task_id=task_id or "",
        task_name=sender.name,
        kwargs=kwargs or {},
        error=detail,
        retries=int(retries),
    )
