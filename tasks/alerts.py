"""``manna.evaluate_alerts`` (beat, every minute): the alert rules against the last window's figures."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from celery import shared_task

from db.alerts import record_states
from db.queries import chunk_metrics, failed_runs
from pipeline.alerts import AlertConfig, load_alerts
from pipeline.performance import error_rate, summarize
from tasks.base import MannaTask

log = logging.getLogger(__name__)


@shared_task(bind=True, base=MannaTask, name="manna.evaluate_alerts")
def evaluate_alerts(self: MannaTask) -> dict[str, str]:
    """Evaluate every rule, store its state, log each change; returns rule name -> state."""
    with self.session() as session:
        return evaluate(session, load_alerts())


def evaluate(session: Any, config: AlertConfig) -> dict[str, str]:
    """Evaluate and record every rule in one transaction (the beat task's body)."""
    figures = alert_figures(session, config)
    evaluations = [(rule, figures.get(rule.figure), rule.state(figures.get(rule.figure))) for rule in config.rules]
    for event in record_states(session, evaluations):
        level = logging.WARNING if event.to_state == "firing" else logging.INFO
        log.log(level, "alert %s: %s -> %s (value %s, threshold %s)", event.name, event.from_state,
                event.to_state, event.value, event.threshold)
    return {rule.name: state for rule, _, state in evaluations}


def alert_figures(session: Any, config: AlertConfig) -> dict[str, float | None]:
    """The figures the rules read, over the configured window of ``task_metrics`` and ``failed_tasks``."""
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=config.window_minutes)
    summary = summarize(chunk_metrics(session, since=since))
    return {
        "transaction_latency_p95_ms": summary["transaction_ms"]["p95"],
        "cache_hit_rate": summary["cache_hit_rate"],
        "error_rate": error_rate(summary["tasks"], failed_runs(session, since=since)),
        # User corrections arrive with the feedback loop (nightly retraining); until then: no data.
        "corrected_label_accuracy": None,
    }

