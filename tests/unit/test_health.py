"""``/healthz``'s worker check: what it says, how it caches, and the route without servers."""

from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from api.health import WorkerProbe, worker_check


def test_the_check_names_the_queue_no_worker_answered_on():
    assert worker_check({}) == {"ok": False, "detail": "no worker answered on queues ingest, categorize",
                                "workers": []}
    training_only = worker_check({"training@h": ["training"], "cat@h": ["categorize"]})
    assert training_only == {"ok": False, "detail": "no worker answered on queue ingest",
                             "workers": ["cat@h", "training@h"]}
    assert worker_check({"w@h": ["categorize", "ingest"]}) == {
        "ok": True, "detail": "1 worker answered on ingest, categorize", "workers": ["w@h"]}
    assert worker_check(None)["ok"] is False and "broker" in worker_check(None)["detail"]


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_probe_asks_at_most_once_per_fresh_period_and_refreshes_behind_the_caller():
    clock, answers, asked = _Clock(), [{"w@h": ["ingest", "categorize"]}, {}], []

    def ask():
        asked.append(clock.now)
        return answers[min(len(asked), len(answers)) - 1]

    probe = WorkerProbe(ask, fresh_seconds=5.0, clock=clock)
    first = probe()  # the first call waits for the answer
    assert first["ok"] is True and first["checked_seconds_ago"] == 0.0 and len(asked) == 1
    clock.now += 4.0
    assert probe()["ok"] is True and len(asked) == 1  # fresh: no broadcast
    clock.now += 2.0
    stale = probe()  # stale: served at once, while a background refresh asks again
    assert stale["ok"] is True and stale["checked_seconds_ago"] == 6.0
    assert probe.refresher is not None
    probe.refresher.join(timeout=5)
    assert len(asked) == 2
    now = probe()
    assert now == {"ok": False, "detail": "no worker answered on queues ingest, categorize", "workers": [],
                   "checked_seconds_ago": 0.0}


def test_a_probe_that_raises_reports_instead():
    def ask():
        raise OSError("boom")

    assert WorkerProbe(ask)() == {"ok": False, "detail": "asking the workers failed: OSError", "workers": [],
                                  "checked_seconds_ago": 0.0}


def test_healthz_is_degraded_not_down_when_no_worker_can_answer(sqlite_settings):
    # Embedded settings: there is no broker a worker could listen on, so nothing answers.
    app = create_app(sqlite_settings.model_copy(update={"admin_token": SecretStr("t")}))
    with TestClient(app) as client:
        health = client.get("/healthz")
    body = health.json()
    assert health.status_code == 200 and body["status"] == "degraded"
    assert body["checks"]["broker"] == body["checks"]["database"] == "ok"
    assert body["workers"]["ok"] is False and body["workers"]["detail"].startswith("no worker answered on queue")
