"""The prefork pool, with each child's task pipe wide enough to take a whole task in one write.

The pool writes a task to a child's pipe without blocking: what does not fit now is written
later by the event loop. A warm shutdown stops that loop, so a task caught half-written (a
``manna.submit_batch`` of 1,000 rows is about 400 KB; a pipe holds 64 KB) is never finished:
the child waits for the rest of it, and the main process waits for the child, for ever. Seen
in tests/integration/test_worker_shutdown.py in one run of 3 to 14: a child blocked reading a
403,828-byte task of which it had 63,868 bytes, its parent in ``Pool.join``.

Each child's task pipe is widened to ``TASK_PIPE_BYTES`` (4 MiB) so that a task goes in one
write, before the loop can stop. Without privileges the kernel grants at most
``/proc/sys/fs/pipe-max-size`` (1 MiB by default), which takes a message of 1,000 ordinary rows
but not one of 1,000 descriptions at the 512-character limit: such a task can still hang a warm
shutdown, which the service manager's stop timeout ends with a kill, and its message is then
delivered again (``task_acks_late``), so nothing is lost. Selected by ``celeryconfig.build``
(``worker_pool``).
"""

from __future__ import annotations

import fcntl
import logging
from pathlib import Path
from typing import Any

from celery.concurrency.asynpool import AsynPool
from celery.concurrency.prefork import TaskPool as PreforkTaskPool

TASK_PIPE_BYTES = 4 << 20
PIPE_MAX_SIZE = Path("/proc/sys/fs/pipe-max-size")

logger = logging.getLogger(__name__)


def widen(connection: Any, size: int = TASK_PIPE_BYTES) -> int:
    """Make a pipe hold ``size`` bytes, else as many as the kernel allows; returns what it holds."""
    fd = connection.fileno()
    for wanted in (size, _pipe_max_size()):
        try:
            return int(fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, min(wanted, size)))
        except OSError:
            continue
    held = int(fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ))
    logger.warning("task pipe kept at %d bytes: a warm shutdown may hang on a larger task", held)
    return held


def _pipe_max_size() -> int:
    try:
        return int(PIPE_MAX_SIZE.read_text())
    except (OSError, ValueError):
        return 1 << 20


class WidePipeAsynPool(AsynPool):  # type: ignore[misc]
    def create_process_queues(self) -> tuple[Any, Any, Any]:
        """Every child's queues, also those made for a replaced child."""
        inq, outq, synq = super().create_process_queues()
        widen(inq._writer)
        return inq, outq, synq


class TaskPool(PreforkTaskPool):  # type: ignore[misc]
    Pool = WidePipeAsynPool
