"""Which workers answer, and on which queues: one broadcast, for ``/healthz`` and ``manna status``."""

from __future__ import annotations

from typing import Any

from celery import Celery

import celeryconfig
from pipeline.settings import Settings


def control_app(settings: Settings) -> Celery:
    """A Celery app for broadcasts only: it imports no task and is not made the current app."""
    app = Celery("manna", set_as_current=False)
    app.conf.update(celeryconfig.build(settings))
    return app


def answering_workers(app: Celery, timeout: float = 1.0) -> dict[str, list[str]] | None:
    """Each worker that answered within ``timeout`` seconds, with the queues it consumes.

    None when the broker cannot be reached (a broker that is down answers at once, instead of
    being retried forever). The call waits the whole ``timeout``: workers answer a broadcast in
    their own time, and the caller cannot know how many there are.
    """
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
            replies: dict[str, Any] = app.control.inspect(timeout=timeout, connection=connection).active_queues() or {}
    except Exception:  # a monitoring call reports what it saw; it never raises
        return None
    return {name: sorted(q["name"] for q in queues or [] if isinstance(q, dict) and "name" in q)
            for name, queues in sorted(replies.items())}
