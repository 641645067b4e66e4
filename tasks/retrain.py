"""``manna.retrain`` (beat, ``MANNA_RETRAIN_CRON``, queue ``training``): learn from reviews, register a candidate.

The message is acknowledged on receipt: a run killed half-way is not delivered again (the next
schedule runs instead), and its lease ends by itself (``services/retrain.py``).
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from pipeline.settings import get_settings
from services.retrain import retrain
from services.runtime import runtime
from tasks.base import MannaTask


@shared_task(bind=True, base=MannaTask, name="manna.retrain", acks_late=False,
             soft_time_limit=get_settings().retrain_time_limit, time_limit=get_settings().retrain_time_limit + 60)
def retrain_models(self: MannaTask, trigger: str = "beat") -> dict[str, Any]:
    """One retraining run; returns its decision (registered, rejected, skipped) and figures."""
    return retrain(runtime().settings, trigger=trigger if trigger in ("beat", "cli", "api") else "beat").as_dict()
