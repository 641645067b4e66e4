"""`manna bench --quick` runs on the real stack and writes well-formed results (figures are not judged)."""

from __future__ import annotations

import json
import subprocess
import sys

import redis

from tests.integration.conftest import REDIS_URL, ROOT, stack_env

# Broker and cache numbers apart from the session worker's, which would otherwise take bench messages.
BENCH_BROKER_DB, BENCH_CACHE_DB = 12, 13
N = 5_000  # transactions of the main run (--quick alone sends 20,000: the same checks, for time)


def test_quick_bench_with_baseline_writes_json_and_report(stack_settings, trained_model, tmp_path):
    env = stack_env(stack_settings)
    env["MANNA_BROKER_URL"] = f"{REDIS_URL}/{BENCH_BROKER_DB}"
    env["MANNA_CACHE_URL"] = f"{REDIS_URL}/{BENCH_CACHE_DB}"
    for url in (env["MANNA_BROKER_URL"], env["MANNA_CACHE_URL"]):
        redis.Redis.from_url(url).flushdb()
    out, report = tmp_path / "bench.json", tmp_path / "report"
    done = subprocess.run([sys.executable, "-m", "cli", "bench", "--quick", "-n", str(N), "--baseline",
                           "--workers", "2", "--out", str(out), "--report", str(report)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    result = json.loads(out.read_text())
    assert result["scenario"] == "cold" and result["n"] == N and result["cold"]["transactions"] == N
    assert result["throughput_tps"] > 0 and result["baseline_throughput_tps"] > 0
    assert result["ratio_vs_baseline"] == round(result["throughput_tps"] / result["baseline_throughput_tps"], 1)
    latency = result["latency_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"]
    assert 0 <= result["cache_hit_rate"] <= 1 and result["peak_rss_mb"] > 0
    assert result["cold"]["stages"]["rows"] == N
    assert set(result["limits"]) == {"postgres_copy_rows_per_s", "redis_mget_keys_per_s", "empty_tasks_per_s"}
    assert all(value > 0 for value in result["limits"].values())
    for name in ("summary.md", "throughput.png", "latency_cdf.png", "stages.png"):
        assert (report / name).stat().st_size > 0
    assert "ours / baseline" in (report / "summary.md").read_text()
