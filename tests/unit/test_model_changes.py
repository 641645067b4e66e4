"""Changing what serves by hand: a clearly worse model needs --force, and every change is logged with who."""

from __future__ import annotations

import pytest

from db.engine import session_scope
from db.registry import load_experiment, recent_changes, register_model
from services.models import ModelChangeRefused, activate, make_candidate, split


def _register(settings, version: str, accuracy: float) -> None:
    with session_scope(settings.effective_database_url) as session:
        register_model(session, version=version, sha256="0" * 64, artifact_path=version, training_summary={},
                       metrics={"held_out_merchant_accuracy": accuracy})


def test_a_clearly_worse_model_is_refused_unless_forced_and_each_change_is_logged(sqlite_settings):
    for version, accuracy in (("m-good", 0.90), ("m-close", 0.895), ("m-worse", 0.85)):
        _register(sqlite_settings, version, accuracy)
    activate(sqlite_settings, "m-good", actor="cli:ann")
    activate(sqlite_settings, "m-close", actor="cli:ann")  # within the margin: noise between fits
    with pytest.raises(ModelChangeRefused, match=r"manna models activate m-worse --force"):
        activate(sqlite_settings, "m-worse", actor="cli:ann")
    activate(sqlite_settings, "m-worse", actor="api:ops", force=True)
    with pytest.raises(LookupError, match="unknown model version"):
        activate(sqlite_settings, "m-nope", actor="cli:ann")
    with session_scope(sqlite_settings.effective_database_url) as session:
        assert load_experiment(session).active_version == "m-worse"
        changes = [(c["decision"], c["version"], c["actor"], c["reason"]) for c in recent_changes(session)]
    assert changes == [("manual:activate", "m-worse", "api:ops", "replaces m-close (forced)"),
                       ("manual:activate", "m-close", "cli:ann", "replaces m-good"),
                       ("manual:activate", "m-good", "cli:ann", "replaces None")]


def test_a_candidate_and_its_share_are_set_cleared_and_logged(sqlite_settings):
    for version in ("m-a", "m-b"):
        _register(sqlite_settings, version, 0.9)
    activate(sqlite_settings, "m-a", actor="cli:ann")
    with pytest.raises(ValueError, match="active model already"):
        make_candidate(sqlite_settings, "m-a", actor="cli:ann")
    assert make_candidate(sqlite_settings, "m-b", actor="cli:ann", percent=12.5).candidate_percent == 12.5
    assert split(sqlite_settings, enabled=False, percent=None, actor="api:ops").candidate_percent == 12.5
    cleared = make_candidate(sqlite_settings, None, actor="cli:ann")
    assert (cleared.candidate_version, cleared.candidate_percent) == (None, 0)
    with session_scope(sqlite_settings.effective_database_url) as session:
        decisions = [(c["decision"], c["version"], c["candidate_percent"]) for c in recent_changes(session)][:3]
    assert decisions == [("manual:clear_candidate", "m-b", 0.0), ("manual:split", "m-b", 12.5),
                         ("manual:candidate", "m-b", 12.5)]
    # While a rollout runs, it sets the candidate: a manual change would be undone by its next step.
    from services.rollout import control, start

    start(sqlite_settings, candidate="m-b", actor="cli:ann")
    with pytest.raises(ValueError, match=r"rollout of m-b is running and sets the candidate: end it first"):
        make_candidate(sqlite_settings, None, actor="cli:ann")
    control(sqlite_settings, "abort", actor="cli:ann")
    assert make_candidate(sqlite_settings, None, actor="cli:ann").candidate_version is None
