"""The admin HTTP API on the real stack: token auth, the seed's endpoints, Prometheus, and a
schemathesis run over its own OpenAPI spec that must find no server error.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import pytest
import redis
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from cli.bench.stack import free_port
from db.engine import session_scope
from db.jobs import job_summary
from db.registry import load_experiment, set_candidate, set_split
from pipeline.generate import Generator
from pipeline.performance import MIN_THROUGHPUT_SECONDS
from pipeline.settings import use_settings
from services.runtime import reset_runtime
from tests.integration.conftest import REDIS_URL, ROOT, stack_env, wait_for_job
from tests.integration.test_bench import BENCH_BROKER_DB, BENCH_CACHE_DB
from workers.client import submit_rows

TOKEN = SecretStr(f"token-{uuid.uuid4().hex}")
AUTH = {"Authorization": f"Bearer {TOKEN.get_secret_value()}"}
ROUTES = [("get", "/api/v1/ml/performance/metrics"), ("post", "/api/v1/ml/performance/clear-cache"),
          ("post", "/api/v1/ml/performance/benchmark"), ("get", "/api/v1/ml/performance/benchmark/abc"),
          ("get", "/api/v1/ml/config/ab-test"), ("post", "/api/v1/ml/config/ab-test"),
          ("post", "/api/v1/ml/categorize"), ("get", "/metrics"), ("post", "/api/v1/ml/feedback"),
          ("get", "/api/v1/ml/review"), ("post", "/api/v1/ml/models/candidate"),
          ("post", "/api/v1/ml/models/m-x/activate"), ("get", "/api/v1/ml/rollout"), ("post", "/api/v1/ml/rollout")]


@pytest.fixture(scope="module")
def client(stack_settings, trained_model, worker):
    app = create_app(stack_settings.model_copy(update={"admin_token": TOKEN}))
    with TestClient(app) as test_client:
        yield test_client
    _restore(stack_settings)


def _restore(settings) -> None:
    """create_app installs its settings in this process: put the session's back."""
    use_settings(settings)
    reset_runtime()


def test_every_admin_route_needs_the_token_and_health_does_not(client):
    for method, path in ROUTES:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN.get_secret_value()}"}):
            response = client.request(method, path, headers=headers)
            assert response.status_code == 401, (method, path, headers, response.text)
    health = client.get("/healthz")
    body = health.json()
    assert health.status_code == 200 and body["status"] == "ok", body
    assert body["checks"] == {"broker": "ok", "database": "ok", "cache": "ok", "model": "ok"}
    assert body["workers"]["ok"] is True and any(name.startswith("test-") for name in body["workers"]["workers"])


def test_healthz_is_degraded_when_no_worker_answers(stack_settings, trained_model, throwaway_redis):
    """A broker nobody consumes: work would queue up safely, so 200 and ``degraded``, not 503."""
    lonely = stack_settings.model_copy(update={"admin_token": TOKEN, "broker_url": throwaway_redis.url})
    try:
        with TestClient(create_app(lonely)) as lonely_client:
            started = time.monotonic()
            health = lonely_client.get("/healthz")
            first = time.monotonic() - started
            started = time.monotonic()
            again = lonely_client.get("/healthz")
            cached = time.monotonic() - started
    finally:
        _restore(stack_settings)
    body = health.json()
    assert health.status_code == 200 and body["status"] == "degraded", body
    assert body["checks"] == {"broker": "ok", "database": "ok", "cache": "ok", "model": "ok"}
    assert body["workers"] | {"checked_seconds_ago": 0} == {
        "ok": False, "detail": "no worker answered on queues ingest, categorize", "workers": [],
        "checked_seconds_ago": 0}
    assert again.json()["status"] == "degraded" and cached < first  # the second answer comes from the cache


def test_the_api_refuses_to_start_without_a_token(stack_settings):
    with pytest.raises(RuntimeError, match="MANNA_ADMIN_TOKEN"):
        create_app(stack_settings.model_copy(update={"admin_token": None}))


def test_categorize_answers_with_the_workers_code_and_rejects_bad_rows(client, trained_model):
    rows = [{"id": "a1", "description": "SQ *BLUE BOTTLE COFFEE #12 OAKLAND CA", "amount": "-4.50"},
            {"id": "a2", "description": "", "amount": "1"}]
    response = client.post("/api/v1/ml/categorize?force_service=active", json=rows, headers=AUTH)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["variant"] == "A"
    (label,) = body["results"]
    assert label["id"] == "a1" and label["category"] == "food.coffee"
    assert label["decided_by"] in {"rule", "model"} and label["explanation"]
    assert [(r["row_index"], r["reason"]) for r in body["rejected"]] == [(1, "description:empty")]
    assert client.post("/api/v1/ml/categorize?force_service=candidate", json=rows, headers=AUTH).status_code == 409
    too_many = [{"id": str(i), "description": "x", "amount": 1} for i in range(101)]
    assert client.post("/api/v1/ml/categorize", json=too_many, headers=AUTH).status_code == 422


def test_ab_test_config_round_trips_and_needs_a_candidate(client, stack_settings, trained_model):
    url = stack_settings.effective_database_url
    refused = client.post("/api/v1/ml/config/ab-test", json={"enabled": True, "optimized_service_percentage": 30},
                          headers=AUTH)
    assert refused.status_code == 409 and "no candidate" in refused.json()["detail"]
    try:
        with session_scope(url) as session:
            set_candidate(session, trained_model, 0)
        set_to = client.post("/api/v1/ml/config/ab-test", json={"enabled": True, "optimized_service_percentage": 30},
                             headers=AUTH)
        assert set_to.status_code == 200
        state = client.get("/api/v1/ml/config/ab-test", headers=AUTH).json()
        assert state == {"enabled": True, "optimized_service_percentage": 30, "active_version": trained_model,
                         "candidate_version": trained_model}
        assert client.post("/api/v1/ml/config/ab-test", json={"enabled": True, "optimized_service_percentage": 101},
                           headers=AUTH).status_code == 422
    finally:
        with session_scope(url) as session:
            set_candidate(session, None, 0)
            set_split(session, enabled=True, percent=0)


def test_the_seed_documents_manual_controls_work_as_written(client, stack_settings, trained_model):
    """The calls of the seed's "A/B Testing Configuration", "Monitoring" and "Manual Rollback", as written."""
    url = stack_settings.effective_database_url
    line = [{"id": "seed-1", "description": "SQ *BLUE BOTTLE COFFEE #12 OAKLAND CA", "amount": "-4.50"}]
    with session_scope(url) as session:
        set_candidate(session, trained_model, 0)
    try:
        configured = client.post("/api/v1/ml/config/ab-test", headers=AUTH,
                                 json={"enabled": True, "optimized_service_percentage": 25.0})
        assert configured.status_code == 200 and configured.json()["optimized_service_percentage"] == 25.0
        forced = client.post("/api/v1/ml/categorize?force_service=optimized", headers=AUTH, json=line)
        assert forced.status_code == 200 and forced.json()["variant"] == "B"
        standard = client.post("/api/v1/ml/categorize?force_service=standard", headers=AUTH, json=line)
        assert standard.json()["variant"] == "A"
        metrics = client.get("/api/v1/ml/performance/metrics", headers=AUTH).json()
        assert set(metrics["optimized"]) == {"cache_hit_rate_percent", "avg_prediction_time_ms", "total_predictions",
                                             "models_loaded"}
        assert metrics["optimized"]["models_loaded"] is True and metrics["standard"]["models_loaded"] is True
        # Manual rollback: disable the test (everything to the standard service), or a share of 0.
        assert client.post("/api/v1/ml/config/ab-test", headers=AUTH, json={"enabled": False}).status_code == 200
        variants = {client.post("/api/v1/ml/categorize", headers=AUTH, json=line).json()["variant"] for _ in range(20)}
        assert variants == {"A"}
        zero = client.post("/api/v1/ml/config/ab-test", headers=AUTH,
                           json={"enabled": True, "optimized_service_percentage": 0})
        assert zero.status_code == 200 and zero.json()["optimized_service_percentage"] == 0
        with session_scope(url) as session:
            assert load_experiment(session).candidate_percent == 0
        fractional = client.post("/api/v1/ml/config/ab-test", headers=AUTH,
                                 json={"enabled": True, "optimized_service_percentage": 12.5})
        assert fractional.json()["optimized_service_percentage"] == 12.5
    finally:
        with session_scope(url) as session:
            set_candidate(session, None, 0)
            set_split(session, enabled=True, percent=0)


def test_performance_metrics_prometheus_and_clear_cache_after_a_job(client, producer, stack_settings, trained_model):
    job_id = f"api-{uuid.uuid4().hex[:8]}"
    submit_rows(producer, Generator(89).rows(2_000, id_prefix=f"{job_id}-"), job_id=job_id, source="api")
    wait_for_job(stack_settings.effective_database_url, job_id, expected_received=2_000)

    metrics = client.get("/api/v1/ml/performance/metrics?window_minutes=60", headers=AUTH).json()
    overall = metrics["overall"]
    assert overall["transactions"] >= 2_000 and overall["tasks"] >= 2
    # A rate over less than MIN_THROUGHPUT_SECONDS of work is null, so a small job can never read as
    # more than transactions / MIN_THROUGHPUT_SECONDS (the issue: 2,000 rows shown as 12,404 tx/s).
    tps = overall["throughput_tps"]
    assert tps is None or 0 < tps <= overall["transactions"] / MIN_THROUGHPUT_SECONDS
    with session_scope(stack_settings.effective_database_url) as session:
        summary = job_summary(session, job_id)
    assert summary is not None and summary["elapsed_s"] > 0
    if summary["elapsed_s"] < MIN_THROUGHPUT_SECONDS:
        assert summary["throughput_tps"] is None
    else:
        assert summary["throughput_tps"] == pytest.approx(summary["labeled"] / summary["elapsed_s"], rel=1e-3)
    assert 0 <= overall["cache_hit_rate"] <= 1
    assert overall["task_ms"]["avg"] > 0 and overall["task_ms"]["p95"] <= overall["task_ms"]["p99"]
    assert {v["variant"] for v in metrics["per_variant"]} >= {"A"}
    assert metrics["models"]["active_version"] == trained_model

    text = client.get("/metrics", headers=AUTH).text
    for needle in ('manna_transactions_total{variant="A"}', 'manna_task_duration_seconds_bucket{le="0.1",variant="A"}',
                   'manna_transaction_latency_seconds_count{variant="A"}', 'manna_queue_depth{queue="ingest"}',
                   "manna_rejected_transactions_total", "manna_cache_hit_ratio_1h"):
        assert needle in text, needle

    cache = redis.Redis.from_url(stack_settings.cache_url)
    assert cache.dbsize() > 0
    assert client.post("/api/v1/ml/performance/clear-cache", headers=AUTH).json() == {"cleared": True}
    assert cache.dbsize() == 0


def test_a_benchmark_started_over_http_finishes_with_its_figures(stack_settings, trained_model):
    bench_settings = stack_settings.model_copy(update={
        "admin_token": TOKEN, "broker_url": f"{REDIS_URL}/{BENCH_BROKER_DB}",
        "cache_url": f"{REDIS_URL}/{BENCH_CACHE_DB}"})
    with TestClient(create_app(bench_settings)) as bench_client:
        started = bench_client.post("/api/v1/ml/performance/benchmark", json={"transactions": 300}, headers=AUTH)
        assert started.status_code == 202, started.text
        run_id = started.json()["id"]
        again = bench_client.post("/api/v1/ml/performance/benchmark", json={"transactions": 300}, headers=AUTH)
        assert again.status_code == 409
        deadline, status = time.monotonic() + 180, {}
        while time.monotonic() < deadline:
            status = bench_client.get(f"/api/v1/ml/performance/benchmark/{run_id}", headers=AUTH).json()
            if status["status"] != "running":
                break
            time.sleep(1)
    _restore(stack_settings)
    assert status["status"] == "finished", status
    assert status["result"]["n"] == 300 and status["result"]["throughput_tps"] > 0


def test_schemathesis_finds_no_server_error_in_manna_api(stack_settings, trained_model, worker, tmp_path):
    """`manna api` served by uvicorn, fuzzed from its own OpenAPI spec by the schemathesis CLI."""
    port = free_port()
    env = {**stack_env(stack_settings), "MANNA_ADMIN_TOKEN": TOKEN.get_secret_value()}
    with session_scope(stack_settings.effective_database_url) as session:
        before = load_experiment(session)
    with (tmp_path / "api.log").open("wb") as log:
        server = subprocess.Popen([sys.executable, "-m", "cli", "api", "--port", str(port)], cwd=ROOT, env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while not _answers(f"{base}/healthz"):
            assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "api.log").read_text()
            time.sleep(0.3)
        # Starting a benchmark is tested above: under the fuzzer each call would cost a benchmark run.
        run = subprocess.run([sys.executable, "-m", "schemathesis.cli", "run", f"{base}/openapi.json",
                              "--checks", "not_a_server_error", "--max-examples", "25",
                              "--exclude-name", "POST /api/v1/ml/performance/benchmark",
                              "--header", f"Authorization: {AUTH['Authorization']}"],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    finally:
        server.terminate()
        server.wait(timeout=30)
        with session_scope(stack_settings.effective_database_url) as session:  # the fuzzer flips the A/B switch
            set_candidate(session, before.candidate_version, before.candidate_percent)
            set_split(session, enabled=before.enabled, percent=before.candidate_percent)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "Selected: 14/15" in run.stdout and "Tested: 14" in run.stdout, run.stdout[-3000:]
    assert "Internal Server Error" not in (tmp_path / "api.log").read_text()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):  # not up yet, or still loading the model
        return False


def test_a_database_outage_is_a_503_naming_it_not_a_500(stack_settings, trained_model):
    down = stack_settings.model_copy(update={"admin_token": TOKEN,
                                             "database_url": "postgresql+psycopg2://nobody@127.0.0.1:1/none"})
    try:
        with TestClient(create_app(down)) as down_client:
            response = down_client.get("/api/v1/ml/config/ab-test", headers=AUTH)
            # The CLI's one-line message for the same failure: what is down and how to fix it.
            detail = response.json()["detail"]
            assert response.status_code == 503 and "database is not answering" in detail, detail
            assert "MANNA_DATABASE_URL" in detail
            health = down_client.get("/healthz")
            assert health.status_code == 503 and health.json()["status"] == "down"
            assert health.json()["checks"]["database"].startswith("down")
    finally:
        _restore(stack_settings)
