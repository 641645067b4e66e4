"""Changing what serves, by hand: activate a model, make one the candidate, set the split. Each change is
checked the same way from the CLI and the API, and logged in ``rollout_events`` with who made it.
"""

from __future__ import annotations

from typing import Any

from db.engine import session_scope
from db.registry import activate_model, get_model_version, load_experiment, log_change, set_candidate, set_split
from db.rollouts import open_rollout
from pipeline.settings import Settings
from pipeline.variant import Experiment

# "Clearly below": more than this under the active model's held-out accuracy (about the noise between fits).
ACCURACY_MARGIN = 0.01


class ModelChangeRefused(Exception):
    """A change that would serve a clearly worse model; the message names the command that forces it."""


def activate(settings: Settings, version: str, *, actor: str, force: bool = False) -> None:
    """Serve ``version`` as the active model (variant A), unless it is clearly worse than the one serving."""
    with session_scope(settings.effective_database_url) as session:
        row = get_model_version(session, version)
        if row is None:
            raise LookupError(f"unknown model version {version!r}: see `manna models list`")
        active = load_experiment(session).active_version
        current = get_model_version(session, active) if active and active != version else None
        if current is not None and not force:
            _refuse_if_worse(version, row.metrics, active, current.metrics)
        activate_model(session, version)
        log_change(session, decision="manual:activate", actor=actor, version=version,
                   reason=f"replaces {active}" + (" (forced)" if force else ""))


def make_candidate(settings: Settings, version: str | None, *, actor: str, percent: float = 0.0) -> Experiment:
    """Make ``version`` the candidate (variant B) with a share of ``percent``; None clears the candidate."""
    with session_scope(settings.effective_database_url) as session:
        experiment = load_experiment(session)
        if version is not None and version == experiment.active_version:
            raise ValueError(f"{version} is the active model already: a candidate must be another version")
        if (rollout := open_rollout(session)) is not None:  # its next step would set the candidate back
            raise ValueError(f"the rollout of {rollout.candidate_version} is {rollout.state} and sets the candidate: "
                             "end it first (manna rollout abort)")
        set_candidate(session, version, percent)
        log_change(session, decision="manual:candidate" if version else "manual:clear_candidate", actor=actor,
                   version=version or experiment.candidate_version, percent=percent if version else 0.0)
        return load_experiment(session)


def split(settings: Settings, *, enabled: bool, percent: float | None, actor: str) -> Experiment:
    """Turn the A/B test on or off and set the candidate's share (the seed's ``/config/ab-test``)."""
    with session_scope(settings.effective_database_url) as session:
        set_split(session, enabled=enabled, percent=percent)
        experiment = load_experiment(session)
        log_change(session, decision="manual:split", actor=actor, version=experiment.candidate_version,
                   percent=experiment.candidate_percent, reason="enabled" if enabled else "disabled")
        return experiment


def _refuse_if_worse(version: str, metrics: dict[str, Any], active: str | None, active_metrics: dict[str, Any]
                     ) -> None:
    new, old = metrics.get("held_out_merchant_accuracy"), active_metrics.get("held_out_merchant_accuracy")
    if new is not None and old is not None and new < old - ACCURACY_MARGIN:
        raise ModelChangeRefused(
            f"{version}'s held-out accuracy {new:.3f} is more than {ACCURACY_MARGIN:.0%} below the active model "
            f"{active}'s {old:.3f}: to serve it anyway, run `manna models activate {version} --force` "
            f"(API: POST /api/v1/ml/models/{version}/activate?force=true)")
