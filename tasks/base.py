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
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from kombu.exceptions import OperationalError as BrokerError
from sqlalchemy.orm import Session

from db.engine import session_scope, transient_errors
from db.failures import failure_count, record_failure
from db.jobs import JobProgress, mark_callback_sent
from db.queries import CHUNK_TASK
from pipeline.settings import get_settings
from pipeline.variant import assign_variant, parse_forced_variant
from services.runtime import runtime

log = logging.getLogger(__name__)
PUBLISHED_AT = "manna_published_at"
_hard_limit_reported: dict[str, float] = {}  # task id -> when its last hard time limit was handled


class InvalidPayload(ValueError):
    """A message whose arguments break the contract: retrying cannot help."""


class MannaTask(Task):  # type: ignore[misc]
    """Base for every ``manna.*`` task."""

    autoretry_for = (*transient_errors(), BrokerError, SoftTimeLimitExceeded)
    retry_backoff = 1
    retry_backoff_max = get_settings().retry_backoff_max
    retry_jitter = False  # delays of 1, 2, 4 … s: the retry budget is a known time (Settings.retry_budget_seconds)
    max_retries = get_settings().task_max_retries
    default_retry_delay = 2  # also the delay before re-running work lost with a killed worker
    retry_on_worker_lost = True
    acks_late = True
    reject_on_worker_lost = True

    def session(self) -> AbstractContextManager[Session]:
        """The unit of work: one session, committed when the block ends, rolled back on error."""
        return session_scope(runtime().database_url)

    def queue_wait_ms(self) -> float | None:
        """Milliseconds from publishing (header set by our producers) until now: call it when the work starts."""
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
    """Fires once retries are exhausted, the error is not retryable, or a hard time limit killed the run."""
    if sender is None or not str(getattr(sender, "name", "")).startswith("manna."):
        return
    settings = get_settings()
    if isinstance(exception, TimeLimitExceeded) and _reported_already(task_id or "", settings.task_time_limit):
        return
    detail = "".join(traceback.format_exception_only(type(exception), exception)).strip() if exception else ""
    retries = getattr(getattr(sender, "request", None), "retries", 0) or 0
    redriven = isinstance(exception, TimeLimitExceeded) and _redrive_after_hard_limit(sender, task_id or "", kwargs)
    if not redriven:
        log.error("task %s[%s] failed for good: %s", sender.name, task_id, detail)
    record_failure(
        settings.effective_database_url,
        settings.failure_spool,
        task_id=task_id or "",
        task_name=sender.name,
        kwargs=kwargs or {},
        error=detail,
        retries=int(retries),
        redriven=redriven,
        variant=_variant_of(sender, task_id or "", kwargs or {}),
    )


def _variant_of(task: Task, task_id: str, kwargs: dict[str, Any]) -> str | None:
    """The A/B variant of a failed chunk, so that its error counts against the model that served it.

    A run records its variant on the request (a chunk task, or a submit_batch that categorized its
    chunk itself); a chunk task killed by the hard time limit is reported in the parent, where the
    variant is worked out again from the task id and the current split.
    """
    recorded = getattr(getattr(task, "request", None), "manna_variant", None)
    if recorded:
        return str(recorded)
    if task.name != CHUNK_TASK:
        return None
    try:
        forced = parse_forced_variant(kwargs.get("force_variant"))
        return assign_variant(task_id, runtime().experiment(), forced)
    except Exception:  # a malformed message or the database down: the failure is recorded all the same
        return None


def _reported_already(task_id: str, hard_limit: float) -> bool:
    """Celery 5.7 signals one hard time limit twice; a new run of the task cannot hit it again sooner."""
    now = time.monotonic()
    for stale in [t for t, at in _hard_limit_reported.items() if now - at >= hard_limit]:
        del _hard_limit_reported[stale]
    if task_id in _hard_limit_reported:
        return True
    _hard_limit_reported[task_id] = now
    return False


def _redrive_after_hard_limit(task: Task, task_id: str, kwargs: dict[str, Any] | None) -> bool:
    """Send a run killed by the hard time limit again, up to ``max_retries`` times per task id.

    Celery acknowledges such a run and has no retry count at hand (the request is gone), so the
    count is the task's rows in ``failed_tasks``: every killed run leaves one, and the last one
    stays pending for ``manna failed redrive``.
    """
    settings = get_settings()
    try:
        earlier = failure_count(settings.effective_database_url, task_id)
    except Exception:  # database down: record the failure (it spools) rather than loop blindly
        return False
    if earlier >= settings.task_max_retries:
        return False
    delay = settings.retry_delay(earlier)
    try:
        task.app.send_task(task.name, kwargs=kwargs or {}, task_id=task_id, countdown=delay,
                           headers={PUBLISHED_AT: time.time() + delay})
    except Exception:  # broker unreachable: the failure is recorded pending instead
        log.exception("task %s[%s] hit the hard time limit and could not be sent again", task.name, task_id)
        return False
    log.warning("task %s[%s] hit the hard time limit: sent again in %d s (%d of %d)", task.name, task_id, delay,
                earlier + 1, settings.task_max_retries)
    return True
