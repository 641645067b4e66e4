"""deploy/stack.sh on one machine: up, a job through the stack, status, down."""

from __future__ import annotations

import subprocess
import uuid

from cli.bench.stack import free_port
from tests.integration.conftest import ROOT, ThrowawayRedis, stack_env, wait_for_job

SERVICES = ("worker-ingest", "worker-latency", "worker-categorize", "worker-training", "beat", "flower", "api")


def test_stack_up_runs_a_job_reports_status_and_goes_down(stack_settings, trained_model, tmp_path):
    broker = ThrowawayRedis(tmp_path)  # a broker of its own: the session worker must not take the job
    broker.start()
    settings = stack_settings.model_copy(update={"broker_url": broker.url, "cache_url": None})
    env = {**stack_env(settings), "MANNA_FLOWER_PASSWORD": "fp", "MANNA_ADMIN_TOKEN": "tok",
           "MANNA_STACK_DIR": str(tmp_path / "stack"), "MANNA_FLOWER_PORT": str(free_port()),
           "MANNA_API_PORT": str(free_port()), "MANNA_BIN": str(ROOT / ".venv" / "bin")}

    def stack(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(ROOT / "deploy" / "stack.sh"), *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=180)

    try:
        up = stack("up")
        assert up.returncode == 0 and "stack: ready" in up.stdout, up.stdout + up.stderr
        job_id = f"stack-{uuid.uuid4().hex[:8]}"
        (tmp_path / "rows.csv").write_text("id,description,amount\n" + "".join(
            f"{job_id}-{i},SQ *BLUE BOTTLE #{i % 50} SF CA,-{4 + i % 7}.50\n" for i in range(3_000)))
        submit = subprocess.run([str(ROOT / ".venv" / "bin" / "manna"), "submit", str(tmp_path / "rows.csv"),
                                 "--job-id", job_id, "--no-wait"], env=env, capture_output=True, text=True,
                                timeout=60)
        assert submit.returncode == 0, submit.stderr
        job = wait_for_job(settings.effective_database_url, job_id, expected_received=3_000, timeout=60)
        assert job["labeled"] == 3_000
        status = stack("status")
        assert status.returncode == 0, status.stderr
        for service in SERVICES:
            assert f"{service}" in status.stdout and "stopped" not in status.stdout.split(service)[1].split("\n")[0]
        assert all(f"{queue}@" in status.stdout for queue in ("ingest", "latency", "categorize", "training"))
    finally:
        down = stack("down")
        after = stack("status")
        broker.stop()
    assert down.returncode == 0, down.stderr
    assert all(f"{s:<18} stopped" in after.stdout for s in SERVICES), after.stdout
