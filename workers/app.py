"""The Celery app: ``celery -A workers.app worker -Q ingest,categorize``.

Building the app connects to nothing and imports no task: a worker imports ``TASK_MODULES`` when it
boots (beat and Flower do too, which is why the model code imports sklearn only where it fits or
loads a model), and clients send tasks by name. A worker imports sklearn before its pool forks;
each child loads its models once at start.
"""

from __future__ import annotations

import gc
import logging
from typing import Any

from celery import Celery, signals

import celeryconfig
from pipeline.settings import Settings, get_settings, redact_url

TASK_MODULES = ("tasks.ingest", "tasks.categorize", "tasks.bench", "tasks.alerts", "tasks.recovery", "tasks.retrain",
                "tasks.rollout")
log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> Celery:
    """A Celery app configured from settings; its worker registers every ``manna.*`` task."""
    settings = settings or get_settings()
    celery_app = Celery("manna", include=list(TASK_MODULES))
    celery_app.conf.update(celeryconfig.build(settings))
    return celery_app


app = create_app()


@signals.celeryd_after_setup.connect
def _serve_latency_with_ingest(sender: Any = None, instance: Any = None, **_: Any) -> None:
    # The latency lane needs no worker of its own: any worker taking `ingest` takes it too, so a
    # small message is served wherever ingest is. A dedicated `-Q latency -c 1` worker (deploy/)
    # keeps it free of the bulk backlog.
    queues = instance.app.amqp.queues
    if queues.consume_from is not None and "ingest" in queues.consume_from:
        queues.select_add(celeryconfig.LATENCY_QUEUE)


@signals.worker_init.connect
def _import_model_classes_before_forking(**_: Any) -> None:
    from pipeline.model import import_model_classes

    import_model_classes()  # about 2 s of CPU, once for the worker instead of once per child


@signals.worker_process_init.connect
def _load_models_once_per_child(**_: Any) -> None:
    from services.runtime import runtime

    try:
        runtime().warm_up()
    except Exception:  # the first task retries the load and reports the error properly
        log.exception("warm-up failed; models load on first use")
    gc.freeze()  # models and vocabularies live as long as the child: spare them every collection


@signals.worker_ready.connect
def _announce(sender: Any = None, **_: Any) -> None:
    settings = get_settings()
    log.info("manna worker ready: broker %s, database %s", redact_url(settings.effective_broker_url),
             redact_url(settings.effective_database_url))
