"""The ``failed_tasks`` record: work whose retries ran out, kept with what is needed to re-drive it."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from db.engine import session_scope
from db.models import FailedTask

log = logging.getLogger(__name__)


def record_failure(database_url: str, spool: Path, *, task_id: str, task_name: str,
                   kwargs: dict[str, Any], error: str, retries: int) -> None:
    """Insert a ``failed_tasks`` row; if the database is unreachable, append it to a local spool."""
    row = {"task_id": task_id, "task_name": task_name, "kwargs": kwargs, "error": error[:4000],
           "retries": retries}
    try:
        with session_scope(database_url) as session:
            session.add(FailedTask(**row))
    except Exception:
        spool.parent.mkdir(parents=True, exist_ok=True)
        with spool.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(row, default=str) + "\n")
        log.error("could not record failed task %s in the database; spooled to %s", task_id, spool)

