"""The worker's consumer, with refused messages recorded in ``failed_tasks`` instead of only logged.

Celery acknowledges a message it cannot decode (a pickle, a wrong content type, broken JSON),
logs it and moves on; a message naming an unknown task, or malformed as a task, goes the same
way. Each now also leaves a ``failed_tasks`` row (name ``refused:<why>``) holding what is safe to
keep: the headers and the body as text, never unpickled. They cannot be re-driven.

Selected by ``celeryconfig.build`` (``worker_consumer``).
"""

from __future__ import annotations

from typing import Any

from celery import signals
from celery.worker.consumer import Consumer as CeleryConsumer

from db.failures import REFUSED_PREFIX, record_failure
from pipeline.settings import get_settings

_BODY_LIMIT = 2000


class Consumer(CeleryConsumer):  # type: ignore[misc]
    def on_decode_error(self, message: Any, exc: Exception) -> None:
        super().on_decode_error(message, exc)
        _record(message, "undecodable", exc)


@signals.task_unknown.connect
def _unknown_task(message: Any = None, exc: Exception | None = None, name: str | None = None, **_: Any) -> None:
    _record(message, "unknown_task", exc, name)


@signals.task_rejected.connect
def _invalid_task(message: Any = None, exc: Exception | None = None, **_: Any) -> None:
    _record(message, "invalid_task", exc)


def _record(message: Any, why: str, exc: Exception | None, name: str | None = None) -> None:
    headers = dict(getattr(message, "headers", None) or {})
    body = getattr(message, "body", b"")
    text = body.decode("utf-8", "backslashreplace") if isinstance(body, bytes) else repr(body)
    settings = get_settings()
    record_failure(settings.effective_database_url, settings.failure_spool,
                   task_id=str(headers.get("id") or "")[:64], task_name=f"{REFUSED_PREFIX}{why}",
                   kwargs={"task": name or headers.get("task"), "content_type": getattr(message, "content_type", None),
                           "headers": {k: str(v)[:200] for k, v in headers.items()}, "body": text[:_BODY_LIMIT]},
                   error=f"{type(exc).__name__}: {exc}" if exc else why, retries=0)
