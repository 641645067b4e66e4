"""Alert state in Postgres: the current state per rule, and an event for every change."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.feedback import recent_accuracy
from db.models import AlertEvent, AlertState
from db.queries import chunk_metrics, failed_runs
from pipeline.alerts import AlertConfig, AlertRule
from pipeline.performance import error_rate, summarize
from pipeline.settings import Settings

log = logging.getLogger(__name__)


def record_states(session: Session, evaluations: Sequence[tuple[AlertRule, float | None, str]]) -> list[AlertEvent]:
    """Store each rule's state now; returns the events of the rules whose state changed."""
    events = []
    for rule, value, state in evaluations:
        current = session.get(AlertState, rule.name, with_for_update=True)
        if current is None:
            current = AlertState(name=rule.name, state=state, value=value, threshold=rule.threshold)
            session.add(current)
            previous = None
        else:
            previous = current.state
            current.value, current.threshold, current.evaluated_at = value, rule.threshold, func.now()
        if previous != state:
            current.state, current.changed_at = state, func.now()
            events.append(AlertEvent(name=rule.name, from_state=previous, to_state=state, value=value,
                                     threshold=rule.threshold))
    session.add_all(events)
    session.flush()
    return events


def alert_states(session: Session) -> list[AlertState]:
    """Every rule's current state, by name."""
    return list(session.scalars(select(AlertState).order_by(AlertState.name)))


def evaluate(session: Session, config: AlertConfig, settings: Settings) -> dict[str, str]:
    """Evaluate and record every rule in one transaction (the beat task's body)."""
    figures = alert_figures(session, config, settings)
    evaluations = [(rule, figures.get(rule.figure), rule.state(figures.get(rule.figure), figures.get(rule.sample)))
                   for rule in config.rules]
    rules = {rule.name: rule for rule in config.rules}
    for event in record_states(session, evaluations):
        level = logging.WARNING if event.to_state == "firing" else logging.INFO
        rule = rules[event.name]
        log.log(level, "alert %s: %s -> %s (value %s, threshold %s, %s %s of at least %d)", event.name,
                event.from_state, event.to_state, event.value, event.threshold, rule.sample,
                figures.get(rule.sample), rule.min_sample)
    return {rule.name: state for rule, _, state in evaluations}


def alert_figures(session: Session, config: AlertConfig, settings: Settings) -> dict[str, float | None]:
    """The figures the rules read, and the samples they were measured over (``chunks``, ``task_runs``,
    ``reviews``): ``task_metrics`` and ``failed_tasks`` over the alerts' window, reviews over the
    live-accuracy window (reviews trickle in: minutes would hold too few)."""
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=config.window_minutes)
    summary = summarize(chunk_metrics(session, since=since))
    failed = failed_runs(session, since=since)
    accuracy = recent_accuracy(session, settings)
    return {
        "transaction_latency_p95_ms": summary["transaction_ms"]["p95"],
        "cache_hit_rate": summary["cache_hit_rate"],
        "error_rate": error_rate(summary["tasks"], failed),
        "corrected_label_accuracy": accuracy["accuracy"],
        "chunks": summary["tasks"],
        "task_runs": summary["tasks"] + failed,
        "reviews": accuracy["reviews"],
    }

