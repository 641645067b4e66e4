"""An in-process worker for the embedded mode (memory broker): the demo and ``manna submit``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from celery import Celery
from celery.contrib.testing.worker import start_worker


@contextmanager
def embedded_worker(app: Celery, loglevel: str = "WARNING") -> Iterator[None]:
    """Run a real worker (solo pool, both queues) in a thread for the duration of the block."""
    with start_worker(app, pool="solo", concurrency=1, perform_ping_check=False, loglevel=loglevel,
                      queues=["ingest", "categorize"], shutdown_timeout=60.0,
                      hostname="embedded@localhost"):
        yield
