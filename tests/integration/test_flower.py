"""Flower, started by ``manna flower``, behind basic auth: through its own HTTP API it shows the
worker online and the pipeline's tasks of a job succeeded. Without credentials it answers 401,
and ``manna flower`` refuses to start without a password.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import pytest

from cli.bench.stack import free_port
from pipeline.generate import Generator
from tests.integration.conftest import ROOT, stack_env, wait_for_job
from workers.client import submit_rows

USER, PASSWORD = "ops", f"pw-{uuid.uuid4().hex[:10]}"


def _get(url: str, *, auth: bool = True) -> object:
    request = urllib.request.Request(url)
    if auth:
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/healthcheck", timeout=2) as response:
            return response.read() == b"OK"
    except (urllib.error.URLError, ConnectionError):
        return False


@pytest.fixture(scope="module")
def flower(stack_settings, worker, tmp_path_factory):
    """``manna flower`` on a free port; yields its base URL."""
    port = free_port()
    log = (tmp_path_factory.mktemp("flower") / "flower.log").open("wb")
    env = {**stack_env(stack_settings), "MANNA_FLOWER_USER": USER, "MANNA_FLOWER_PASSWORD": PASSWORD}
    process = subprocess.Popen([sys.executable, "-m", "cli", "flower", "--port", str(port)], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while not _healthy(base):
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError("flower did not start")
        time.sleep(0.3)
    yield base
    process.terminate()
    process.wait(timeout=30)
    log.close()


def test_flower_shows_the_worker_online_and_the_jobs_tasks_succeeded(flower, worker, producer, stack_settings):
    job_id = f"flower-{uuid.uuid4().hex[:8]}"
    submit_rows(producer, Generator(83).rows(3_000, id_prefix=f"{job_id}-"), job_id=job_id, source="flower")
    wait_for_job(stack_settings.effective_database_url, job_id, expected_received=3_000)

    deadline, mine = time.monotonic() + 30, {}
    while time.monotonic() < deadline:
        tasks = _get(f"{flower}/api/tasks?limit=1000")
        mine = {tid: t for tid, t in tasks.items() if job_id in (t.get("kwargs") or "")}
        if len(mine) == 3 and all(t["state"] == "SUCCESS" for t in mine.values()):
            break
        time.sleep(0.5)
    names = sorted(t["name"] for t in mine.values())
    # Three messages of 1,000 rows, each one chunk, categorized in the task that received it.
    assert names == ["manna.submit_batch"] * 3, names
    assert all(t["state"] == "SUCCESS" for t in mine.values())

    workers = _get(f"{flower}/api/workers?refresh=1")
    assert any(name.startswith("test-") for name in workers), workers
    status = _get(f"{flower}/api/workers?status=1")
    assert any(online for name, online in status.items() if name.startswith("test-")), status


def test_flower_requires_credentials(flower):
    for path in ("/", "/api/workers", "/api/tasks"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            _get(f"{flower}{path}", auth=False)
        assert refused.value.code == 401, path


def test_manna_flower_refuses_to_start_without_a_password(stack_settings):
    env = {k: v for k, v in stack_env(stack_settings).items() if k != "MANNA_FLOWER_PASSWORD"}
    result = subprocess.run([sys.executable, "-m", "cli", "flower"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and "MANNA_FLOWER_PASSWORD" in result.stderr
