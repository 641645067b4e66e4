"""``manna.evaluate_alerts`` (beat, every minute): the alert rules against the last window's figures."""

from __future__ import annotations

from celery import shared_task

from db.alerts import evaluate
from pipeline.alerts import load_alerts
from services.runtime import runtime
from tasks.base import MannaTask


@shared_task(bind=True, base=MannaTask, name="manna.evaluate_alerts")
def evaluate_alerts(self: MannaTask) -> dict[str, str]:
    """Evaluate every rule, store its state, log each change; returns rule name -> state."""
    with self.session() as session:
        return evaluate(session, load_alerts(), runtime().settings)
