"""``manna.evaluate_rollout`` (beat, every ``MANNA_ROLLOUT_INTERVAL_SECONDS``): the rollout controller's pass."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from services.rollout import evaluate
from services.runtime import runtime
from tasks.base import MannaTask


@shared_task(bind=True, base=MannaTask, name="manna.evaluate_rollout")
def evaluate_rollout(self: MannaTask) -> dict[str, Any] | None:
    """Hold, advance, complete or roll back the running rollout; None when none runs."""
    return evaluate(runtime().settings)
