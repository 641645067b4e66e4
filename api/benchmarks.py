"""Benchmarks started over HTTP: one ``manna bench --quick`` at a time, its result kept on disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from typing import Any

from pipeline.settings import Settings


class BenchmarkBusy(RuntimeError):
    """Another benchmark is still running: two would measure each other."""


class BenchmarkRuns:
    """Runs live under ``<data dir>/api-benchmarks/<id>/``: the JSON result and the log."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.data_dir / "api-benchmarks"
        self._running: dict[str, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()

    def start(self, transactions: int) -> str:
        """Start ``manna bench --quick -n transactions``; returns the run's id."""
        with self._lock:
            if any(process.poll() is None for process in self._running.values()):
                raise BenchmarkBusy("a benchmark is already running")
            run_id = uuid.uuid4().hex[:12]
            directory = self.root / run_id
            directory.mkdir(parents=True)
            command = [sys.executable, "-m", "cli", "bench", "--quick", "-n", str(transactions),
                       "--out", str(directory / "result.json")]
            with (directory / "bench.log").open("wb") as log:
                self._running[run_id] = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                                         env=self._environment(), start_new_session=True)
            return run_id

    def status(self, run_id: str) -> dict[str, Any] | None:
        """``running``, ``finished`` with the result, or ``failed`` with the log's tail; None if unknown."""
        directory = self.root / run_id
        if not run_id.isalnum() or not directory.is_dir():
            return None
        process = self._running.get(run_id)
        if process is not None and process.poll() is None:
            return {"id": run_id, "status": "running", "result": None, "log_tail": None}
        result = directory / "result.json"
        if result.is_file():
            return {"id": run_id, "status": "finished", "result": json.loads(result.read_text()), "log_tail": None}
        tail = (directory / "bench.log").read_text(errors="replace")[-2000:]
        return {"id": run_id, "status": "failed", "result": None, "log_tail": tail}

    def _environment(self) -> dict[str, str]:
        """Every setting of the API's own (limits, retries, URLs), so the benchmark runs as the stack does.

        The credentials of the operations surfaces are not passed on: the benchmark needs neither.
        """
        env = {k: v for k, v in os.environ.items() if not k.startswith("MANNA_")}
        for name, value in self.settings.model_dump(exclude={"admin_token", "flower_password"}).items():
            if value is not None:
                env[f"MANNA_{name.upper()}"] = str(value)
        env["MANNA_DATABASE_URL"] = self.settings.effective_database_url
        env["MANNA_MODEL_DIR"] = str(self.settings.effective_model_dir)
        return env
