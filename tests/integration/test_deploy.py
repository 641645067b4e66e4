"""``manna deploy`` end to end on this machine: a first deployment starts the stack and validates it with a
canary job; a deployment whose validation fails puts the previous model back and restarts the stack."""

from __future__ import annotations

import json
import subprocess
import sys

from cli.bench.stack import free_port
from db.engine import session_scope
from db.registry import load_experiment
from services.training import train_default_model
from tests.integration.conftest import ROOT, ThrowawayRedis, stack_env


def test_deploy_validates_with_a_canary_and_a_failed_validation_restores_the_previous_model(
        stack_settings, trained_model, tmp_path):
    broker = ThrowawayRedis(tmp_path)  # a broker of its own: the session's worker must not take the canary
    broker.start()
    settings = stack_settings.model_copy(update={"broker_url": broker.url, "cache_url": None})
    env = {**stack_env(settings), "MANNA_FLOWER_PASSWORD": "fp", "MANNA_ADMIN_TOKEN": "tok",
           "MANNA_STACK_DIR": str(tmp_path / "stack"), "MANNA_FLOWER_PORT": str(free_port()),
           "MANNA_API_PORT": str(free_port()), "MANNA_BIN": str(ROOT / ".venv" / "bin")}

    def manna(*args: str) -> tuple[int, dict]:
        done = subprocess.run([sys.executable, "-m", "cli", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=600)
        return done.returncode, json.loads(done.stdout) if done.stdout.startswith("{") else {"stderr": done.stderr}

    candidate = train_default_model(settings, rows=600, seed=6, activate=False)  # any other version will do
    try:
        code, first = manna("deploy", "--canary-rows", "1000")
        assert code == 0 and first["ok"], first
        assert [s["step"] for s in first["steps"]] == ["prerequisites", "baseline", "migrations", "restart",
                                                       "validate"]
        assert first["steps"][1]["outcome"] == "no stack running"
        assert first["steps"][-1]["outcome"]["labeled"] == 1_000

        code, failed = manna("deploy", "--activate", candidate, "--force", "--canary-rows", "1000",
                             "--min-canary-accuracy", "1.01")  # no model labels every line right: a forced failure
        assert code == 1 and not failed["ok"]
        assert failed["error"].startswith("validate failed: canary accuracy"), failed["error"]
        assert failed["restored"] == [f"model {trained_model} active again", "stack restarted"]
        assert isinstance(failed["steps"][1]["outcome"], dict)  # the running stack gave a baseline
        with session_scope(settings.effective_database_url) as session:
            assert load_experiment(session).active_version == trained_model
        status = subprocess.run([str(ROOT / "deploy" / "stack.sh"), "status"], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=60)
        assert "worker-categorize  running" in status.stdout, status.stdout
    finally:
        subprocess.run([str(ROOT / "deploy" / "stack.sh"), "down"], cwd=ROOT, env=env, capture_output=True,
                       timeout=180)
        broker.stop()
