"""Model versions and the A/B experiment: what the workers serve."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db.bulk import upsert_ignore
from db.models import ExperimentRow, ModelVersion, RolloutEvent
from pipeline.variant import Experiment

DEFAULT_EXPERIMENT = "default"


def register_model(session: Session, *, version: str, sha256: str, artifact_path: str,
                   training_summary: dict[str, Any], metrics: dict[str, Any] | None = None) -> bool:
    """Record a trained artifact as a candidate; False if the version was already known."""
    return upsert_ignore(session, ModelVersion, {
        "version": version, "status": "candidate", "artifact_sha256": sha256, "artifact_path": artifact_path,
        "training_summary": training_summary, "metrics": metrics or {},
    })


def get_model_version(session: Session, version: str) -> ModelVersion | None:
    """The registry row of a version."""
    return session.get(ModelVersion, version)


def activate_model(session: Session, version: str) -> None:
    """Serve ``version`` as variant A; the previous active version is retired."""
    if session.get(ModelVersion, version) is None:
        raise LookupError(f"unknown model version {version!r}")
    experiment = _experiment_row(session)
    if experiment.active_version and experiment.active_version != version:
        session.execute(update(ModelVersion).where(ModelVersion.version == experiment.active_version)
                        .values(status="retired"))
    session.execute(update(ModelVersion).where(ModelVersion.version == version).values(status="active"))
    experiment.active_version = version
    if experiment.candidate_version == version:
        experiment.candidate_version = None
        experiment.candidate_percent = 0


def set_candidate(session: Session, version: str | None, percent: float) -> None:
    """Serve ``version`` as variant B to ``percent`` of tasks."""
    if not 0 <= percent <= 100:
        raise ValueError("candidate percent must be within 0..100")
    if version is not None and session.get(ModelVersion, version) is None:
        raise LookupError(f"unknown model version {version!r}")
    experiment = _experiment_row(session)
    experiment.candidate_version = version
    experiment.candidate_percent = percent if version else 0


def set_split(session: Session, *, enabled: bool, percent: float | None = None) -> None:
    """Turn the A/B test on or off and (unless None) set the candidate's share, keeping the candidate version.

    Turned off, every task goes to the active model whatever the share.
    """
    if percent is not None and not 0 <= percent <= 100:
        raise ValueError("candidate percent must be within 0..100")
    experiment = _experiment_row(session)
    if enabled and percent and experiment.candidate_version is None:
        raise LookupError("no candidate model to give traffic to: make one with `manna models candidate VERSION`")
    experiment.enabled = enabled
    if percent is not None:
        experiment.candidate_percent = percent


def load_experiment(session: Session) -> Experiment:
    """The current split, as the pure ``pipeline`` type."""
    row = session.get(ExperimentRow, DEFAULT_EXPERIMENT)
    if row is None:
        return Experiment(active_version=None)
    return Experiment(row.active_version, row.candidate_version, row.candidate_percent, row.enabled)


def list_models(session: Session) -> list[ModelVersion]:
    """Every registered version, newest first."""
    return list(session.scalars(select(ModelVersion).order_by(ModelVersion.created_at.desc())))


def _experiment_row(session: Session) -> ExperimentRow:
    upsert_ignore(session, ExperimentRow, {"name": DEFAULT_EXPERIMENT, "candidate_percent": 0,
                                                     "enabled": True})
    row = session.get(ExperimentRow, DEFAULT_EXPERIMENT, with_for_update=True)
    assert row is not None
    return row


def log_change(session: Session, *, decision: str, actor: str, version: str | None = None, reason: str = "",
               percent: float | None = None, rollout_id: int | None = None, phase: int | None = None,
               figures: dict[str, Any] | None = None) -> None:
    """Append to ``rollout_events``: what changed in what serves, who changed it, and why."""
    session.add(RolloutEvent(rollout_id=rollout_id, decision=decision, phase=phase, candidate_percent=percent,
                             version=version, reason=reason, figures=figures or {}, actor=actor))
    session.flush()


def recent_changes(session: Session, limit: int = 50) -> list[dict[str, Any]]:
    """The newest ``rollout_events``, newest first."""
    query = select(RolloutEvent).order_by(RolloutEvent.id.desc()).limit(limit)
    return [{c.name: getattr(e, c.key) for c in RolloutEvent.__table__.columns} for e in session.scalars(query)]
