"""A newcomer with the README: its server block runs as pasted, and a stalled or broken setup says why.

The block is taken from README.md as written. Only what must not touch the machine's own data is
replaced: the Redis URLs (a throw-away redis-server), the database name (a throw-away database)
and the row counts (3,000 instead of 100,000 sent and 20,000 trained on, for time).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pandas as pd
import pytest

from tests.integration.conftest import PG_ADMIN_URL, ROOT, _admin_execute

pytestmark = pytest.mark.integration
VENV_BIN = str(Path(sys.executable).parent)


def readme_block() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- newcomer-block -->\n```sh\n(.*?)```", text, re.S)
    assert match, "README.md lost its <!-- newcomer-block --> shell block"
    return match.group(1)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MANNA_")}
    return {**env, **extra}


def test_the_readme_server_block_runs_as_pasted(throwaway_redis, tmp_path):
    database = f"manna_readme_{uuid.uuid4().hex[:8]}"
    host = PG_ADMIN_URL.split("@", 1)[1].split("/", 1)[0]
    block = readme_block()
    substitutions = {
        '"$PWD/.venv/bin': f'"{VENV_BIN}',  # the test runs in its own folder; the venv is the suite's
        "redis://127.0.0.1:6379/0": throwaway_redis.url,
        "redis://127.0.0.1:6379/1": throwaway_redis.url.rsplit("/", 1)[0] + "/1",
        "127.0.0.1:5432/manna": f"{host}/{database}",
        "-U postgres manna": f"-U postgres {database}",
        "-n 100000": "-n 3000",
        "manna train ": "manna train -n 600 ",  # a small model trains in a third of the time
    }
    for old, new in substitutions.items():
        assert old in block, f"the README block no longer has {old!r}: update this test with it"
        block = block.replace(old, new)
    script = tmp_path / "block.sh"
    script.write_text("set -euo pipefail\n" + block, encoding="utf-8")
    try:
        run = subprocess.run(["bash", str(script)], cwd=tmp_path, env=clean_env(), capture_output=True, text=True,
                             timeout=400)
        assert run.returncode == 0, (run.stdout[-3000:], run.stderr[-5000:], _logs(tmp_path))
        assert "accepted 3,000, rejected 0" in run.stderr, run.stderr[-3000:]
        labels = pd.read_csv(tmp_path / "labels.csv")
        generated = pd.read_csv(tmp_path / "txns.csv", dtype=str)
        assert len(labels) == 3000 and set(labels["transaction_id"].astype(str)) == set(generated["id"])
        job = json.loads(run.stdout[run.stdout.index("{"):])
        assert (job["status"], job["labeled"], job["rejected"]) == ("finished", 3000, 0)
        _wait_stopped(tmp_path)
    finally:
        _kill_leftovers(tmp_path)
        _admin_execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def test_submit_without_a_worker_gives_up_and_names_the_cause(throwaway_redis, pg_url, tmp_path):
    rows = tmp_path / "rows.csv"
    rows.write_text("id,description,amount\nt1,STARBUCKS 12,-4.50\n")
    env = clean_env(MANNA_BROKER_URL=throwaway_redis.url, MANNA_DATABASE_URL=pg_url, MANNA_DATA_DIR=str(tmp_path))
    started = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "cli", "submit", str(rows), "--timeout", "3"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 3, run.stderr
    assert "gave up waiting" in run.stderr and "no worker listens on queue 'ingest'" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr and time.monotonic() - started < 60


def test_a_database_never_created_is_one_line_with_the_fix(tmp_path):
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/manna_missing_{uuid.uuid4().hex[:8]}"
    for args in (("db", "upgrade"), ("jobs", "list"), ("status",)):
        run = subprocess.run([sys.executable, "-m", "cli", *args], cwd=ROOT, capture_output=True, text=True,
                             env=clean_env(MANNA_DATABASE_URL=url, MANNA_DATA_DIR=str(tmp_path)), timeout=60)
        lines = [line for line in run.stderr.splitlines() if line.strip()]
        assert run.returncode == 2 and len(lines) == 1 and "Traceback" not in run.stderr, (args, run.stderr)
        assert "does not exist: create it" in lines[0] and "manna db upgrade" in lines[0], lines[0]


def _logs(folder: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}" for p in folder.glob("*.log"))


def _pids(folder: Path) -> list[int]:
    return [int(p.read_text().strip()) for p in folder.glob("*.pid") if p.read_text().strip()]


def _wait_stopped(folder: Path, timeout: float = 60.0) -> None:
    """The block's last line stopped every process it started: their pid files go away."""
    deadline = time.monotonic() + timeout
    while _pids(folder) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _pids(folder), _logs(folder)


def _kill_leftovers(folder: Path) -> None:
    for pid in _pids(folder):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
