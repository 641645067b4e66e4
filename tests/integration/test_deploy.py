"""``manna deploy`` and deploy/stack.sh end to end on this machine, with one stack for both (each start costs
about 20 s): a first deployment starts the stack and validates it with a canary job; a job sent with
``manna submit`` goes through it; ``status`` names every service and queue; a deployment whose validation
fails puts the previous model back and restarts the stack; ``down`` stops every service."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

from cli.bench.stack import free_port
from db.engine import session_scope
from db.registry import load_experiment
from services.training import train_default_model
from tests.integration.conftest import ROOT, ThrowawayRedis, stack_env, wait_for_job

SERVICES = ("worker-ingest", "worker-latency", "worker-categorize", "worker-training", "beat", "flower", "api")


def test_deploy_starts_a_stack_that_runs_jobs_and_a_failed_validation_restores_the_previous_model(
        stack_settings, trained_model, tmp_path):
    broker = ThrowawayRedis(tmp_path)  # a broker of its own: the session's worker must not take the jobs
    broker.start()
    settings = stack_settings.model_copy(update={"broker_url": broker.url, "cache_url": None})
    env = {**stack_env(settings), "MANNA_FLOWER_PASSWORD": "fp", "MANNA_ADMIN_TOKEN": "tok",
           "MANNA_STACK_DIR": str(tmp_path / "stack"), "MANNA_FLOWER_PORT": str(free_port()),
           "MANNA_API_PORT": str(free_port()), "MANNA_BIN": str(ROOT / ".venv" / "bin")}

    def manna(*args: str) -> tuple[int, dict]:
        done = subprocess.run([sys.executable, "-m", "cli", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=600)
        return done.returncode, json.loads(done.stdout) if done.stdout.startswith("{") else {"stderr": done.stderr}

    def stack(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(ROOT / "deploy" / "stack.sh"), *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=180)

    candidate = train_default_model(settings, rows=600, seed=6, activate=False)  # any other version will do
    try:
        code, first = manna("deploy", "--canary-rows", "1000")
        assert code == 0 and first["ok"], _shown(first, stack("logs").stdout)
        assert [s["step"] for s in first["steps"]] == ["prerequisites", "baseline", "migrations", "restart",
                                                       "validate"]
        assert first["steps"][1]["outcome"] == "no stack running"
        assert first["steps"][-1]["outcome"]["labeled"] == 1_000

        _a_submitted_job_is_labeled(settings, env, tmp_path)
        status = stack("status")
        assert status.returncode == 0, status.stderr
        for service in SERVICES:
            assert service in status.stdout and "stopped" not in status.stdout.split(service)[1].split("\n")[0]
        assert all(f"{queue}@" in status.stdout for queue in ("ingest", "latency", "categorize", "training"))

        code, failed = manna("deploy", "--activate", candidate, "--force", "--canary-rows", "1000",
                             "--min-canary-accuracy", "1.01")  # no model labels every line right: a forced failure
        assert code == 1 and not failed["ok"]
        assert failed["error"].startswith("validate failed: canary accuracy"), failed["error"]
        assert failed["restored"] == [f"model {trained_model} active again", "stack restarted"]
        assert isinstance(failed["steps"][1]["outcome"], dict)  # the running stack gave a baseline
        with session_scope(settings.effective_database_url) as session:
            assert load_experiment(session).active_version == trained_model
        assert "worker-categorize  running" in stack("status").stdout
    finally:
        down = stack("down")
        after = stack("status")
        broker.stop()
    assert down.returncode == 0, down.stderr
    assert all(f"{s:<18} stopped" in after.stdout for s in SERVICES), after.stdout


def _shown(result: dict, logs: str) -> str:
    """A failed deployment's whole answer and the services' logs, printed too: pytest shortens long
    assertion messages, and a start that failed on CI cannot be looked at afterwards."""
    text = f"{json.dumps(result, indent=1)}\n{logs}"
    print(text)
    return text


def _a_submitted_job_is_labeled(settings, env: dict[str, str], tmp_path) -> None:
    job_id = f"stack-{uuid.uuid4().hex[:8]}"
    (tmp_path / "rows.csv").write_text("id,description,amount\n" + "".join(
        f"{job_id}-{i},SQ *BLUE BOTTLE #{i % 50} SF CA,-{4 + i % 7}.50\n" for i in range(3_000)))
    submit = subprocess.run([str(ROOT / ".venv" / "bin" / "manna"), "submit", str(tmp_path / "rows.csv"),
                             "--job-id", job_id, "--no-wait"], env=env, capture_output=True, text=True, timeout=60)
    assert submit.returncode == 0, submit.stderr
    job = wait_for_job(settings.effective_database_url, job_id, expected_received=3_000, timeout=60)
    assert job["labeled"] == 3_000
