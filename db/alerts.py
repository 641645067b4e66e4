"""Alert state in Postgres: the current state per rule, and an event for every change."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import AlertEvent, AlertState
from pipeline.alerts import AlertRule


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
