"""An in-process worker for the embedded mode (memory broker): the demo and ``manna submit``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery import Celery
from celery.contrib.testing.worker import start_worker
from kombu.transport import memory

from celeryconfig import LATENCY_QUEUE

# Longest a drain of the in-process queues blocks: Celery's loop for a transport without an event
# loop drains with a 2 s timeout and checks for shutdown only between drains.
_DRAIN_SECONDS = 0.05


class MemoryTransport(memory.Transport):  # type: ignore[misc]
    """The in-memory broker, polled every 50 ms (kombu's 1 s suits a network broker, not a queue in
    this process) and drained in short steps, so the embedded worker stops at once rather than
    after up to 3 s. Selected by ``celeryconfig.build`` for ``memory://`` brokers."""

    polling_interval = _DRAIN_SECONDS

    def drain_events(self, connection: Any, timeout: float | None = None) -> Any:
        return super().drain_events(connection, timeout=min(timeout or _DRAIN_SECONDS, _DRAIN_SECONDS))


@contextmanager
def embedded_worker(app: Celery, loglevel: str = "WARNING") -> Iterator[None]:
    """Run a real worker (solo pool, every queue of the categorization path) in a thread while the block runs."""
    with start_worker(app, pool="solo", concurrency=1, perform_ping_check=False, loglevel=loglevel,
                      queues=["ingest", LATENCY_QUEUE, "categorize"], shutdown_timeout=60.0,
                      hostname="embedded@localhost"):
        yield
