"""``retrain_runs``: every retraining attempt, its decision and the figures behind it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from db.models import RetrainRun

DECIDED = ("registered", "rejected")


def start_run(session: Session, *, trigger: str, base_version: str | None) -> int:
    """Record a run as started; returns its id."""
    return int(session.execute(insert(RetrainRun).values(
        status="running", trigger=trigger, base_version=base_version, figures={}, reason="")
        .returning(RetrainRun.id)).scalar_one())


def finish_run(session: Session, run_id: int, *, status: str, reason: str, figures: dict[str, Any] | None = None,
               candidate_version: str | None = None, last_correction_id: int | None = None) -> None:
    """Record a run's decision."""
    session.execute(update(RetrainRun).where(RetrainRun.id == run_id).values(
        status=status, reason=reason, figures=figures or {}, candidate_version=candidate_version,
        last_correction_id=last_correction_id, finished_at=func.now()))


def fail_interrupted(session: Session) -> int:
    """Mark runs left 'running' by a process that died as failed (called under the retraining lease)."""
    result = session.execute(update(RetrainRun).where(RetrainRun.status == "running").values(
        status="failed", reason="interrupted: the process running it stopped", finished_at=func.now()))
    return int(getattr(result, "rowcount", 0) or 0)


def last_decided(session: Session) -> RetrainRun | None:
    """The newest run that trained and judged a model."""
    query = select(RetrainRun).where(RetrainRun.status.in_(DECIDED)).order_by(RetrainRun.id.desc()).limit(1)
    return session.scalars(query).first()


def recent_runs(session: Session, limit: int = 10) -> list[dict[str, Any]]:
    """The newest runs, newest first, as plain dicts."""
    query = select(RetrainRun).order_by(RetrainRun.id.desc()).limit(limit)
    return [{c.name: getattr(run, c.key) for c in RetrainRun.__table__.columns} for run in session.scalars(query)]

