"""A pickled message on the broker is refused by the worker, never unpickled (and so never run)."""

from __future__ import annotations

import os
import pickle
import time
import uuid
from pathlib import Path

from kombu import Connection, Exchange, Producer


class _Payload:
    """Unpickling this runs a shell command: the classic remote-code-execution message."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_worker_refuses_a_pickled_task_message(worker, stack_settings, tmp_path):
    marker = tmp_path / "pwned"
    task_id = f"pickle-{uuid.uuid4().hex[:8]}"
    body = pickle.dumps(((), {"job_id": "x", "source": "s", "transactions": [_Payload(marker)]}, {}))
    with Connection(stack_settings.effective_broker_url) as connection:
        Producer(connection).publish(
            body, routing_key="categorize", exchange=Exchange("categorize", type="direct"),
            serializer=None, content_type="application/x-python-serialize", content_encoding="binary",
            headers={"lang": "py", "task": "manna.categorize_chunk", "id": task_id, "root_id": task_id,
                     "retries": 0, "argsrepr": "()", "kwargsrepr": "{}"})
    deadline = time.monotonic() + 30
    refused = False
    while time.monotonic() < deadline and not refused:
        log = worker.log_path.read_text(errors="replace")
        refused = "untrusted content" in log and "x-python-serialize" in log
        time.sleep(0.2)
    assert refused, "the worker did not report refusing the pickled message"
    time.sleep(1.0)
    assert not marker.exists()
