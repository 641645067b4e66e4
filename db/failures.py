"""The ``failed_tasks`` record: work whose retries ran out, kept with what is needed to re-drive it."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from db.engine import session_scope
from db.models import FailedTask

log = logging.getLogger(__name__)
# failed_tasks rows of messages that never ran (undecodable, malformed, unknown task): not re-drivable.
REFUSED_PREFIX = "refused:"


def is_refused(task_name: str) -> bool:
    """True for a row that records a refused message rather than a failed task run."""
    return task_name.startswith(REFUSED_PREFIX)


def record_failure(database_url: str, spool: Path, *, task_id: str, task_name: str,
                   kwargs: dict[str, Any], error: str, retries: int, redriven: bool = False,
                   variant: str | None = None) -> None:
    """Insert a ``failed_tasks`` row; if the database is unreachable, append it to a local spool.

    ``redriven`` records a failure whose task was already sent again automatically.
    """
    # The error may quote the hostile input: keep it printable and storable (no NUL, no lone surrogate).
    error = error[:4000].encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
    row: dict[str, Any] = {"task_id": task_id, "task_name": task_name, "kwargs": kwargs, "error": error,
                           "retries": retries, "variant": variant}
    if redriven:
        row["redriven_at"] = dt.datetime.now(dt.UTC)
    try:
        with session_scope(database_url) as session:
            session.add(FailedTask(**row))
    except Exception:
        spool.parent.mkdir(parents=True, exist_ok=True)
        with spool.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(row, default=str) + "\n")
        log.error("could not record failed task %s in the database; spooled to %s", task_id, spool)


def failure_count(database_url: str, task_id: str) -> int:
    """How many failures this task id has recorded so far."""
    with session_scope(database_url) as session:
        return int(session.scalar(select(func.count()).where(FailedTask.task_id == task_id)) or 0)


def import_spool(session: Session, spool: Path) -> int:
    """Move failures spooled while the database was down into ``failed_tasks``; returns how many."""
    if not spool.is_file():
        return 0
    # New failures spool to a fresh file meanwhile. The claimed file is kept, not deleted: a
    # writer that opened it just before the rename may still append a line to it.
    claimed = spool.with_name(f"{spool.name}.imported-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}")
    spool.replace(claimed)
    rows = []
    for number, line in enumerate(claimed.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        try:
            row = json.loads(line) if line.strip() else None
            if row is not None and row.get("redriven_at"):
                row["redriven_at"] = dt.datetime.fromisoformat(row["redriven_at"])
        except (ValueError, AttributeError):  # a line cut short by a crash: the others still count
            log.error("failure spool %s line %d is unreadable and stays only there: %.200s", claimed, number, line)
            continue
        if row is not None:
            rows.append(row)
    session.add_all(FailedTask(**row) for row in rows)
    session.flush()
    return len(rows)


def pending_failures(session: Session, *, include_redriven: bool = False, limit: int = 1000) -> list[FailedTask]:
    """Failures not re-driven yet (or all of them), oldest first."""
    query = select(FailedTask).order_by(FailedTask.id).limit(limit)
    if not include_redriven:
        query = query.where(FailedTask.redriven_at.is_(None))
    return list(session.scalars(query))


def pending_failure_count(session: Session) -> int:
    """Pipeline task failures not re-driven yet (refused messages are not counted: they cannot be)."""
    query = select(func.count()).where(FailedTask.redriven_at.is_(None),
                                       ~FailedTask.task_name.startswith(REFUSED_PREFIX))
    return int(session.scalar(query) or 0)


def mark_redriven(session: Session, ids: list[int]) -> None:
    """Record that these failures were sent again (a new failure gets a row of its own)."""
    session.execute(update(FailedTask).where(FailedTask.id.in_(ids)).values(redriven_at=func.now()))
