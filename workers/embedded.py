"""An in-process worker for the embedded mode (memory broker): the demo and ``manna submit``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from celery import Celery
from celery.contrib.testing.worker import start_worker

from celeryconfig import LATENCY_QUEUE


@contextmanager
def embedded_worker(app: Celery, loglevel: str = "WARNING") -> Iterator[None]:
    """Run a real worker (solo pool, every queue of the categorization path) in a thread while the block runs."""
    with start_worker(app, pool="solo", concurrency=1, perform_ping_check=False, loglevel=loglevel,
                      queues=["ingest", LATENCY_QUEUE, "categorize"], shutdown_timeout=60.0,
                      hostname="embedded@localhost"):
        yield
