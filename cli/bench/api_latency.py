"""``manna bench-api``: latency of ``POST /api/v1/ml/categorize`` for one transaction, over real HTTP.

It starts ``manna api`` (uvicorn) with a token of its own on a free port, warms it up, then sends
single-transaction requests one after another on a keep-alive connection and reports client-side
percentiles. Lines come from the generator, so the cache sees what production would.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import subprocess
import sys
import time
from typing import Any

import numpy as np

from cli.bench.measure import percentiles
from cli.bench.stack import BenchError, free_port
from pipeline.generate import Generator

WARM_UP = 50


def measure_api_latency(requests: int, seed: int) -> dict[str, Any]:
    """Start the API, send ``requests`` one-transaction requests, return percentiles in ms."""
    token, port = secrets.token_urlsafe(24), free_port()
    env = {**os.environ, "MANNA_ADMIN_TOKEN": token}
    server = subprocess.Popen([sys.executable, "-m", "cli", "api", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        connection = _connect(port, server)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        rows = Generator(seed).rows(WARM_UP + requests, id_prefix="api-bench-")
        timings = []
        for i, row in enumerate(rows):
            body = json.dumps([{k: row[k] for k in ("id", "description", "amount", "date")}])
            started = time.perf_counter()
            connection.request("POST", "/api/v1/ml/categorize", body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            elapsed = (time.perf_counter() - started) * 1000.0
            if response.status != 200:
                raise BenchError(f"categorize answered {response.status}: {payload[:300]!r}")
            if i >= WARM_UP:
                timings.append(elapsed)
    finally:
        server.terminate()
        server.wait(timeout=30)
    values = np.array(timings)
    return {"requests": requests, "transactions_per_request": 1,
            "latency_ms": percentiles(values, digits=2),
            "mean_ms": round(float(values.mean()), 2)}


def _connect(port: int, server: subprocess.Popen[bytes], timeout: float = 60.0) -> http.client.HTTPConnection:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise BenchError(f"manna api exited: {server.stderr.read().decode(errors='replace')[-2000:]}"
                             if server.stderr else "manna api exited")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            return connection
        except OSError:
            connection.close()
            time.sleep(0.2)
    raise BenchError("manna api did not answer within a minute")
