"""Rollouts in the database: the rollout row, its step by compare-and-set, and the figures it judges by."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.orm import Session

from db.models import Correction, FailedTask, Rollout, RolloutEvent
from db.queries import CHUNK_TASK

OPEN_STATES = ("running", "paused")


def open_rollout(session: Session) -> Rollout | None:
    """The rollout that is running or paused, if any (at most one)."""
    query = select(Rollout).where(Rollout.state.in_(OPEN_STATES)).order_by(Rollout.id.desc()).limit(1)
    return session.scalars(query).first()


def latest_rollout(session: Session) -> Rollout | None:
    """The newest rollout, whatever its state."""
    return session.scalars(select(Rollout).order_by(Rollout.id.desc()).limit(1)).first()


def move(session: Session, rollout: Rollout, *, from_phase: int, to_phase: int, state: str) -> bool:
    """Take one step: only the caller that still sees ``from_phase`` in ``running`` moves it (two beats,
    or a beat killed mid-decision, can neither take a step twice nor skip one)."""
    now = dt.datetime.now(dt.UTC)  # to the microsecond, also on SQLite (its CURRENT_TIMESTAMP has seconds)
    result = session.execute(
        update(Rollout).where(Rollout.id == rollout.id, Rollout.phase == from_phase, Rollout.state == "running")
        .values(phase=to_phase, state=state, phase_started_at=now, finished_at=now if state != "running" else None))
    moved = bool(getattr(result, "rowcount", 0) == 1)
    if moved:
        session.refresh(rollout)
    return moved


def failed_chunks(session: Session, since: dt.datetime) -> dict[str, int]:
    """Chunk runs that failed for good since a time, per variant: chunk tasks, and submit_batch runs that
    failed while categorizing their single chunk (they carry the chunk's variant)."""
    chunk_run = or_(FailedTask.task_name == CHUNK_TASK, FailedTask.variant.is_not(None))
    query = (select(FailedTask.variant, func.count()).where(chunk_run, FailedTask.failed_at >= since)
             .group_by(FailedTask.variant))
    return {str(variant or "A"): int(n) for variant, n in session.execute(query)}


def model_accuracy(session: Session, since: dt.datetime) -> dict[str, tuple[int, int]]:
    """(reviews, confirmations) per variant of labels a model decided (not rules, memory or overrides)."""
    by_model = or_(Correction.previous_decided_by == "model",
                   and_(Correction.previous_decided_by == "cache", Correction.previous_rule_id.is_(None)))
    confirmed = func.sum(case((Correction.kind == "confirmation", 1), else_=0))
    query = (select(Correction.variant, func.count(), confirmed)
             .where(Correction.created_at >= since, by_model).group_by(Correction.variant))
    return {str(variant): (int(n), int(ok or 0)) for variant, n, ok in session.execute(query)}


def rollout_events(session: Session, rollout_id: int) -> list[dict[str, Any]]:
    """A rollout's events, oldest first."""
    query = select(RolloutEvent).where(RolloutEvent.rollout_id == rollout_id).order_by(RolloutEvent.id)
    return [{"at": e.at, "decision": e.decision, "phase": e.phase, "percent": e.candidate_percent,
             "reason": e.reason, "figures": e.figures, "actor": e.actor} for e in session.scalars(query)]


def last_event(session: Session, rollout_id: int) -> RolloutEvent | None:
    """A rollout's newest event."""
    query = select(RolloutEvent).where(RolloutEvent.rollout_id == rollout_id).order_by(RolloutEvent.id.desc())
    return session.scalars(query.limit(1)).first()
