"""The rollout controller: a candidate walks the policy's phases (10 -> 100%) or is rolled back.

``evaluate`` is what the beat task ``manna.evaluate_rollout`` runs every
``MANNA_ROLLOUT_INTERVAL_SECONDS``: it measures both variants since the phase began (and the
candidate over each rollback trigger's window), asks ``pipeline.rollout.decide``, and carries the
verdict out in one transaction: the split, the rollout's phase (moved by compare-and-set, so two
beats never take a step twice) and the event with its figures.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Any

from sqlalchemy.orm import Session

from db.engine import session_scope
from db.models import AlertEvent, Rollout
from db.queries import chunk_metrics
from db.registry import activate_model, get_model_version, load_experiment, log_change, set_candidate, set_split
from db.rollouts import failed_chunks, last_event, latest_rollout, model_accuracy, move, open_rollout, rollout_events
from pipeline.model import ArtifactError
from pipeline.performance import error_rate, summarize
from pipeline.rollout import Figures, Policy, decide, load_policy
from pipeline.settings import Settings
from services.retrain import standard_accuracy

log = logging.getLogger(__name__)
CONTROLLER = "controller"


def start(settings: Settings, *, candidate: str, actor: str, policy: str = "seed",
          phases: list[float] | None = None) -> dict[str, Any]:
    """Begin a rollout of ``candidate`` at the first phase's share; refused while another one is open."""
    rules = _policy(policy, phases)
    with session_scope(settings.effective_database_url) as session:
        current = open_rollout(session)
        if current is not None:
            raise ValueError(f"rollout {current.id} of {current.candidate_version} is {current.state}: "
                             "`manna rollout abort` it first")
        if get_model_version(session, candidate) is None:
            raise LookupError(f"unknown model version {candidate!r}: see `manna models list`")
        active = load_experiment(session).active_version
        if candidate == active:
            raise ValueError(f"{candidate} is the active model already")
    try:  # also proves that the candidate loads and verifies before it serves anyone
        baseline = standard_accuracy(settings, [v for v in (active, candidate) if v]) if active else {}
    except (ArtifactError, OSError) as err:
        raise ValueError(f"{candidate} cannot be served: {err}") from None
    with session_scope(settings.effective_database_url) as session:
        now = dt.datetime.now(dt.UTC)
        rollout = Rollout(candidate_version=candidate, active_version=active, policy=str(policy),
                          phases=list(rules.phases), phase=0, state="running", baseline=baseline, actor=actor,
                          started_at=now, phase_started_at=now)
        session.add(rollout)
        session.flush()
        set_candidate(session, candidate, rules.phases[0])
        set_split(session, enabled=True)
        log_change(session, decision="start", actor=actor, version=candidate, rollout_id=rollout.id, phase=0,
                   percent=rules.phases[0], reason=f"policy {policy}, phases {list(rules.phases)}",
                   figures={"standard_accuracy": baseline})
    return status(settings) or {}


def evaluate(settings: Settings) -> dict[str, Any] | None:
    """One controller pass: hold, advance, complete or roll back the running rollout (None: nothing runs)."""
    with session_scope(settings.effective_database_url) as session:
        rollout = open_rollout(session)
        if rollout is None or rollout.state != "running":
            return None
        rules = _policy(rollout.policy, rollout.phases)
        active, candidate, windows = measure(session, rollout, rules)
        verdict = decide(rules, rollout.phase, active, candidate, windows)
        figures = {"active": dataclasses.asdict(active), "candidate": dataclasses.asdict(candidate),
                   "windows": {name: dataclasses.asdict(f) for name, f in windows.items()}}
        _carry_out(session, rollout, verdict.action, verdict.reason, figures)
        return {"rollout": rollout.id, "decision": verdict.action, "phase": rollout.phase, "reason": verdict.reason}


def measure(session: Session, rollout: Rollout, rules: Policy) -> tuple[Figures, Figures, dict[str, Figures]]:
    """Both variants since the phase began; the candidate over each rollback trigger's window (within this
    rollout: an earlier candidate's chunks are not this one's)."""
    since = rollout.phase_started_at
    rows = chunk_metrics(session, since=since)
    failures = failed_chunks(session, since)
    reviews = model_accuracy(session, since)
    live = all(reviews.get(v, (0, 0))[0] >= rules.min_reviews for v in ("A", "B"))
    standard = rollout.baseline or {}

    def accuracy(variant: str) -> float | None:
        if live:
            n, ok = reviews[variant]
            return ok / n
        return standard.get(str(rollout.active_version if variant == "A" else rollout.candidate_version))

    figures = {v: _figures([r for r in rows if (r["variant"] or "A") == v], failures.get(v, 0), accuracy(v))
               for v in ("A", "B")}
    now = dt.datetime.now(dt.UTC)
    windows = {}
    began = rollout.started_at if rollout.started_at.tzinfo else rollout.started_at.replace(tzinfo=dt.UTC)
    for name, trigger in rules.rollback.items():
        start = max(now - dt.timedelta(minutes=trigger.for_minutes), began)  # this rollout's candidate only
        recent = [r for r in chunk_metrics(session, since=start) if r["variant"] == "B"]
        windows[name] = _figures(recent, failed_chunks(session, start).get("B", 0), None)
    return figures["A"], figures["B"], windows


def _figures(rows: list[dict[str, Any]], failed: int, accuracy: float | None) -> Figures:
    summary = summarize(rows)
    chunks_with_cache_errors = sum(1 for r in rows if r["cache_errors"])
    return Figures(predictions=summary["transactions"], error_rate=error_rate(summary["tasks"], failed),
                   p95_ms=summary["transaction_ms"]["p95"], accuracy=accuracy,
                   cache_error_share=chunks_with_cache_errors / len(rows) if rows else None)


def _carry_out(session: Session, rollout: Rollout, action: str, reason: str, figures: dict[str, Any]) -> None:
    phase = rollout.phase
    if action == "hold":
        previous = last_event(session, rollout.id)
        if previous is None or previous.decision != "hold" or previous.reason != reason:  # log what changed
            log_change(session, decision="hold", actor=CONTROLLER, version=rollout.candidate_version,
                       rollout_id=rollout.id, phase=phase, percent=rollout.phases[phase], reason=reason,
                       figures=figures)
        return
    to_phase, state = {"advance": (phase + 1, "running"), "complete": (phase, "completed"),
                       "rollback": (phase, "rolled_back")}[action]
    if not move(session, rollout, from_phase=phase, to_phase=to_phase, state=state):
        return  # another controller took this step already
    percent = {"advance": rollout.phases[to_phase], "complete": 100.0, "rollback": 0.0}[action]
    if action == "advance":
        set_candidate(session, rollout.candidate_version, percent)
    elif action == "complete":
        activate_model(session, rollout.candidate_version)
    else:
        set_candidate(session, rollout.candidate_version, 0.0)
        session.add(AlertEvent(name="rollout_rolled_back", from_state=None, to_state="firing", value=None,
                               threshold=0.0))
        log.warning("rollout %s of %s rolled back: %s", rollout.id, rollout.candidate_version, reason)
    log_change(session, decision=action, actor=CONTROLLER, version=rollout.candidate_version,
               rollout_id=rollout.id, phase=to_phase, percent=percent, reason=reason, figures=figures)


def control(settings: Settings, action: str, *, actor: str) -> dict[str, Any]:
    """pause | resume | abort the open rollout (abort gives the candidate no more traffic)."""
    with session_scope(settings.effective_database_url) as session:
        rollout = open_rollout(session)
        if rollout is None:
            raise LookupError("no rollout is running or paused: see `manna rollout status`")
        wanted = {"pause": ("running", "paused"), "resume": ("paused", "running"),
                  "abort": (rollout.state, "aborted")}[action]
        if rollout.state != wanted[0]:
            raise ValueError(f"rollout {rollout.id} is {rollout.state}: it cannot {action}")
        rollout.state = wanted[1]
        if action == "abort":
            rollout.finished_at = dt.datetime.now(dt.UTC)
            set_candidate(session, rollout.candidate_version, 0.0)
        log_change(session, decision=f"manual:{action}", actor=actor, version=rollout.candidate_version,
                   rollout_id=rollout.id, phase=rollout.phase,
                   percent=0.0 if action == "abort" else rollout.phases[rollout.phase])
    return status(settings) or {}


def status(settings: Settings) -> dict[str, Any] | None:
    """The latest rollout: state, candidate, phase and share, and every event."""
    with session_scope(settings.effective_database_url) as session:
        rollout = latest_rollout(session)
        if rollout is None:
            return None
        return {"id": rollout.id, "state": rollout.state, "candidate": rollout.candidate_version,
                "active_at_start": rollout.active_version, "policy": rollout.policy, "phases": rollout.phases,
                "phase": rollout.phase, "percent": _share(rollout), "started_at": rollout.started_at,
                "phase_started_at": rollout.phase_started_at,
                "finished_at": rollout.finished_at, "baseline": rollout.baseline,
                "events": rollout_events(session, rollout.id)}


def _share(rollout: Rollout) -> float:
    """The candidate's share of tasks that this rollout leaves in place."""
    return {"completed": 100.0, "rolled_back": 0.0, "aborted": 0.0}.get(rollout.state, rollout.phases[rollout.phase])


def _policy(policy: str, phases: list[float] | None) -> Policy:
    rules = load_policy(policy)
    if phases:
        if list(phases) != sorted(phases) or phases[0] <= 0 or phases[-1] != 100:
            raise ValueError("phases must rise to 100, e.g. 10,25,50,75,100")
        rules = dataclasses.replace(rules, phases=tuple(float(p) for p in phases))
    return rules
