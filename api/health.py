"""``/healthz``'s worker check: does a worker answer on each queue the pipeline needs?

Asking costs a broadcast and a one-second wait for answers, and load balancers poll
``/healthz`` with short timeouts. So the answer is cached: a fresh one (under
``FRESH_SECONDS``) is served as is; a stale one is served while a background thread asks
again. Only the very first call waits for the broadcast.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

Replies = dict[str, list[str]] | None
WORKER_QUEUES = ("ingest", "categorize")  # `-Q ingest,categorize` serves the whole path
PING_TIMEOUT = 1.0
FRESH_SECONDS = 5.0


def worker_check(replies: Replies, queues: tuple[str, ...] = WORKER_QUEUES) -> dict[str, Any]:
    """``{"ok", "detail", "workers"}`` from the answers of a broadcast (None: the broker could not be asked)."""
    if replies is None:
        return {"ok": False, "detail": "the broker could not be asked which workers are up", "workers": []}
    missing = [queue for queue in queues if not any(queue in served for served in replies.values())]
    names = sorted(replies)
    if missing:
        return {"ok": False, "detail": f"no worker answered on queue{'s' if len(missing) > 1 else ''} "
                                       f"{', '.join(missing)}", "workers": names}
    return {"ok": True, "detail": f"{len(names)} worker{'s' if len(names) > 1 else ''} answered on "
                                  f"{', '.join(queues)}", "workers": names}


class WorkerProbe:
    """``worker_check`` of ``ask()``, cached for ``fresh_seconds`` and refreshed in the background."""

    def __init__(self, ask: Callable[[], Replies], fresh_seconds: float = FRESH_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._ask = ask
        self._fresh_seconds = fresh_seconds
        self._clock = clock
        self._lock = threading.Lock()  # guards the fields below
        self._first = threading.Lock()  # concurrent first calls ask once
        self._result: dict[str, Any] | None = None
        self._at = 0.0
        self.refresher: threading.Thread | None = None

    def __call__(self) -> dict[str, Any]:
        """The latest answer, with how many seconds ago it was asked."""
        with self._lock:
            result, at = self._result, self._at
            if result is not None and self._clock() - at >= self._fresh_seconds and not self._refreshing():
                self.refresher = threading.Thread(target=self._refresh, name="healthz-workers", daemon=True)
                self.refresher.start()
        if result is None:
            with self._first:
                with self._lock:
                    result, at = self._result, self._at
                if result is None:
                    self._refresh()
                    with self._lock:
                        result, at = self._result, self._at
        assert result is not None
        return {**result, "checked_seconds_ago": round(max(0.0, self._clock() - at), 1)}

    def _refreshing(self) -> bool:
        return self.refresher is not None and self.refresher.is_alive()

    def _refresh(self) -> None:
        try:
            result = worker_check(self._ask())
        except Exception as err:  # a health check reports, it never raises
            result = {"ok": False, "detail": f"asking the workers failed: {type(err).__name__}", "workers": []}
        with self._lock:
            self._result, self._at = result, self._clock()
