"""Celery settings, all derived from the one settings object (``pipeline.settings``).

The values that are not optional (ARCHITECTURE.md) are fixed here: JSON only, late acks with
redelivery of work lost with a worker, prefetch 1, time limits, a visibility timeout above the
hard limit plus the longest retry delay, a memory cap per child, task events for Flower, no
result backend (Postgres is the record).
"""

from __future__ import annotations

from typing import Any

from celery.schedules import crontab
from kombu import Exchange, Queue

from pipeline.settings import Settings, get_settings

QUEUES = ("ingest", "latency", "categorize", "training", "bench")
# Small messages skip the bulk backlog here; every worker that takes `ingest` takes it too (workers.app).
LATENCY_QUEUE = "latency"
# kombu's Redis transport, plus a restore on reconnect of the messages held when the broker went away.
REDIS_TRANSPORT = "workers.broker:Transport"
MEMORY_TRANSPORT = "workers.embedded:MemoryTransport"


def build(settings: Settings) -> dict[str, Any]:
    """The Celery configuration for these settings."""
    url = settings.effective_broker_url
    transport = {"redis": REDIS_TRANSPORT, "memory": MEMORY_TRANSPORT}.get(url.partition("://")[0])
    return {
        "broker_url": url,
        "broker_transport": transport,
        # Scan for messages past their visibility timeout every 10 s (kombu's default is every 100 s).
        "broker_transport_options": {"visibility_timeout": settings.visibility_timeout,
                                     "unacked_restore_throttle": 1},
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,  # a worker waits out a broker outage, however long
        "task_publish_retry_policy": _publish_retry_policy(settings.publish_retry_seconds),
        "task_serializer": "json",
        "result_serializer": "json",
        "event_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        "task_ignore_result": True,
        "result_backend": None,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_retry_on_worker_lost": True,  # bounded by max_retries, unlike a plain requeue
        "task_acks_on_failure_or_timeout": True,
        "worker_prefetch_multiplier": settings.worker_prefetch_multiplier,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "task_soft_time_limit": settings.task_soft_time_limit,
        "task_time_limit": settings.task_time_limit,
        "worker_max_memory_per_child": settings.worker_max_memory_per_child_kb,
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        # Each queue on its own direct exchange and key: by default Celery binds every queue to the
        # default queue's exchange and key, so a message published there by hand reached all of them.
        "task_queues": [Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUES],
        "task_default_queue": "categorize",
        "task_create_missing_queues": True,
        "task_routes": {"manna.submit_batch": {"queue": "ingest"},
                        "manna.categorize_chunk": {"queue": "categorize"},
                        "manna.bench.*": {"queue": "bench"},
                        # Once a minute and light: the ingest queue's workers take it.
                        "manna.evaluate_alerts": {"queue": "ingest"},
                        "manna.recover_stalled_jobs": {"queue": "ingest"},
                        "manna.retrain": {"queue": "training"},
                        "manna.evaluate_rollout": {"queue": "ingest"}},
        "beat_schedule": {"evaluate-alerts": {"task": "manna.evaluate_alerts", "schedule": 60.0},
                          "recover-stalled-jobs": {"task": "manna.recover_stalled_jobs", "schedule": 300.0},
                          "retrain": {"task": "manna.retrain", "schedule": _cron(settings.retrain_cron)},
                          "evaluate-rollout": {"task": "manna.evaluate_rollout",
                                               "schedule": settings.rollout_interval_seconds}},
        "worker_consumer": "workers.consumer:Consumer",  # refused messages also land in failed_tasks
        "worker_pool": "workers.pool:TaskPool",  # prefork, with task pipes a warm shutdown cannot hang on
        "worker_hijack_root_logger": False,
        "timezone": "UTC",
    }


def _cron(expression: str) -> crontab:
    """A crontab schedule from five fields: minute hour day-of-month month day-of-week (UTC)."""
    minute, hour, day_of_month, month, day_of_week = expression.split()
    return crontab(minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month, day_of_week=day_of_week)


def _publish_retry_policy(seconds: float) -> dict[str, float]:
    """Retry a publish for about ``seconds`` (0, 0.5, then 1 s apart): a producer rides out a broker restart."""
    return {"max_retries": int(seconds) + 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1.0}


globals().update(build(get_settings()))
