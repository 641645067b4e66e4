"""The admin HTTP API: ``manna api`` serves ``create_app()`` with uvicorn.

Everything under ``/api/v1/ml`` and ``/metrics`` needs ``Authorization: Bearer $MANNA_ADMIN_TOKEN``.
``/healthz`` answers without it (load balancers and probes), and says only which part is down or
missing (``degraded``, still 200, when no worker answers: work queues up safely).
The OpenAPI spec is at ``/openapi.json``, the docs at ``/docs``.
"""

import datetime as dt
import logging
import secrets
import uuid
from typing import Annotated, Any, Literal

import redis
from fastapi import APIRouter, Body, Depends, FastAPI, HTTPException, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from kombu import Connection
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import text

from api.benchmarks import BenchmarkBusy, BenchmarkRuns
from api.health import PING_TIMEOUT, WorkerProbe
from api.prometheus import PipelineCollector
from api.schemas import (
    ABTestConfig,
    ABTestState,
    BenchmarkRequest,
    BenchmarkStarted,
    BenchmarkStatus,
    CandidateRequest,
    CategorizeResponse,
    FeedbackRequest,
    FeedbackResult,
    Health,
    PerformanceMetrics,
    ReviewEntry,
    RolloutRequest,
    RolloutState,
)
from db.engine import session_scope, transient_errors
from db.feedback import recent_accuracy
from db.queries import chunk_metrics, failed_runs, rejected_count
from db.registry import load_experiment
from pipeline.model import import_model_classes
from pipeline.performance import by_variant, summarize
from pipeline.schema import validate_batch
from pipeline.settings import Settings, get_settings, use_settings
from pipeline.variant import assign_variant, parse_forced_variant, version_for
from services.errors import describe
from services.feedback import record_feedback
from services.models import ModelChangeRefused, activate, make_candidate, split
from services.review import review_entries
from services.rollout import control as control_rollout
from services.rollout import start as start_rollout
from services.rollout import status as rollout_status
from services.runtime import reset_runtime, runtime
from workers.broker import queue_depths
from workers.monitor import answering_workers, control_app

MAX_CATEGORIZE = 100
# A source as a query parameter: what the transaction contract allows (no NUL: Postgres text refuses it).
SourceQuery = Query(min_length=1, max_length=64, pattern=r"^[^\x00]+$")
log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API for ``settings`` (default: the environment's); refuses to exist without a token."""
    if settings is not None:
        use_settings(settings)
        reset_runtime()
    settings = get_settings()
    if settings.admin_token is None or not settings.admin_token.get_secret_value():
        raise RuntimeError("set MANNA_ADMIN_TOKEN: the admin API never runs without authentication")
    import_model_classes()  # /healthz loads the active model: the first probe must not wait for sklearn's import
    app = FastAPI(title="Manna admin API", version="1", description=__doc__)
    for error in (*transient_errors(), redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
        app.add_exception_handler(error, _unavailable)
    app.include_router(_health_router(settings))
    app.include_router(_metrics_router(settings))
    app.include_router(_ml_router(settings))
    return app


async def _unavailable(_request: Request, err: Exception) -> JSONResponse:
    """A store the API needs is down: the CLI's one-line message, as 503, rather than a bare 500."""
    failure = describe(err)
    log.warning("admin API: %s", failure or err)
    detail = str(failure) if failure else f"a backing service is unavailable ({type(err).__name__})"
    return JSONResponse({"detail": f"{detail}; see /healthz"}, status_code=503)


def _token_check(settings: Settings) -> Any:
    assert settings.admin_token is not None
    expected = settings.admin_token.get_secret_value().encode()
    bearer = HTTPBearer(auto_error=False)

    def require_token(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
        if credentials is None or not secrets.compare_digest(credentials.credentials.encode(), expected):
            raise HTTPException(401, "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"})

    return Depends(require_token)


def _health_router(settings: Settings) -> APIRouter:
    router = APIRouter()

    workers = WorkerProbe(_worker_asker(settings))

    @router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
    def healthz(response: Response) -> Health:
        """Broker, database, cache and model, each checked now; workers, asked at most every few seconds.

        503 when the broker, the database or a registered model is down. A cache outage, no model
        registered yet (rules and the fallback label only), or no worker answering on the ingest or
        categorize queue is ``degraded`` (200: messages wait safely in the broker until a worker comes).
        """
        checks = {"broker": _check(lambda: _broker_ok(settings)),
                  "database": _check(lambda: _database_ok(settings)),
                  "cache": _check(lambda: redis.Redis.from_url(settings.cache_url, socket_timeout=1).ping()
                                  if settings.cache_url else True),
                  "model": _model_check()}
        essential_ok = all(checks[name] == "ok" for name in ("broker", "database")) and checks["model"] in {
            "ok", "none"}
        answering = workers()
        healthy = checks["cache"] == checks["model"] == "ok" and answering["ok"]
        status = ("ok" if healthy else "degraded") if essential_ok else "down"
        if not essential_ok:
            response.status_code = 503
        return Health(status=status, checks=checks, workers=answering)

    return router


def _worker_asker(settings: Settings) -> Any:
    """Who answers on the broker; embedded settings have no broker a worker could listen on."""
    if settings.embedded:
        return lambda: {}
    app = control_app(settings)
    return lambda: answering_workers(app, timeout=PING_TIMEOUT)


def _metrics_router(settings: Settings) -> APIRouter:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PipelineCollector(settings, lambda: queue_depths(settings.effective_broker_url)))
    router = APIRouter(dependencies=[_token_check(settings)])

    @router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
    def metrics() -> Response:
        """Prometheus text format: counters and histograms per variant, last-hour gauges, queue depths."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router


def _ml_router(settings: Settings) -> APIRouter:
    router = APIRouter(prefix="/api/v1/ml", dependencies=[_token_check(settings)])
    benchmarks = BenchmarkRuns(settings)
    url = settings.effective_database_url
    actor = f"api:{settings.admin_token_name}"

    @router.get("/performance/metrics", response_model=PerformanceMetrics)
    def performance_metrics(window_minutes: Annotated[int, Query(ge=1, le=10_080)] = 60) -> dict[str, Any]:
        """Cache hit rate, task and per-transaction milliseconds, totals and throughput, per variant."""
        since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=window_minutes)
        with session_scope(url) as session:
            rows = chunk_metrics(session, since=since)
            failures = failed_runs(session, since=since)
            rejected = rejected_count(session, since=since)
            experiment = load_experiment(session)
            accuracy = recent_accuracy(session, settings)
        return {**{service: _seed_service(rows, variant, version) for service, variant, version in (
                    ("standard", "A", experiment.active_version), ("optimized", "B", experiment.candidate_version))},
                "window_minutes": window_minutes, "overall": summarize(rows), "per_variant": by_variant(rows),
                "failed_tasks": failures, "rejected_transactions": rejected,
                "models": {"active_version": experiment.active_version,
                           "candidate_version": experiment.candidate_version,
                           "loaded_here": runtime().loaded_versions()},
                "live_accuracy": {**accuracy, "window_minutes": settings.accuracy_window_minutes}}

    @router.post("/performance/clear-cache")
    def clear_cache() -> dict[str, bool]:
        """Delete every result-cache key of this deployment (its prefix only; never FLUSHDB)."""
        try:
            runtime().cache.clear()
        except Exception as err:
            raise HTTPException(503, f"the cache could not be cleared: {err}") from err
        return {"cleared": True}

    @router.post("/performance/benchmark", response_model=BenchmarkStarted, status_code=202)
    def start_benchmark(request: Annotated[BenchmarkRequest | None, Body()] = None) -> dict[str, str]:
        """Start ``manna bench --quick`` against this stack; fetch the result by its id."""
        if settings.embedded:
            raise HTTPException(409, "a benchmark needs a broker: set MANNA_BROKER_URL and MANNA_DATABASE_URL")
        try:
            return {"id": benchmarks.start((request or BenchmarkRequest()).transactions), "status": "running"}
        except BenchmarkBusy as err:
            raise HTTPException(409, str(err)) from err

    @router.get("/performance/benchmark/{run_id}", response_model=BenchmarkStatus)
    def benchmark_status(run_id: str) -> dict[str, Any]:
        """A benchmark's state: running, finished (with the JSON of ``manna bench``) or failed."""
        found = benchmarks.status(run_id)
        if found is None:
            raise HTTPException(404, f"no benchmark {run_id!r}")
        return found

    @router.get("/config/ab-test", response_model=ABTestState)
    def get_ab_test() -> ABTestState:
        """Whether the A/B test runs, and the candidate model's share of tasks."""
        with session_scope(url) as session:
            return _ab_state(load_experiment(session))

    @router.post("/config/ab-test", response_model=ABTestState, responses={409: {"description": "no candidate"}})
    def set_ab_test(config: ABTestConfig) -> ABTestState:
        """Set the split; workers pick it up within ``MANNA_EXPERIMENT_REFRESH_SECONDS``."""
        try:
            return _ab_state(split(settings, enabled=config.enabled, percent=config.optimized_service_percentage,
                                   actor=actor))
        except LookupError as err:
            raise HTTPException(409, str(err)) from err

    @router.post("/models/candidate", response_model=ABTestState,
                 responses={404: {"description": "unknown version"}, 409: {"description": "the active model"}})
    def set_candidate_model(request: CandidateRequest) -> ABTestState:
        """Make a registered model the candidate (variant B) with a share of tasks, or clear the candidate."""
        try:
            return _ab_state(make_candidate(settings, request.version, actor=actor, percent=request.percent))
        except LookupError as err:
            raise HTTPException(404, str(err)) from err
        except ValueError as err:
            raise HTTPException(409, str(err)) from err

    @router.post("/models/{version}/activate", response_model=ABTestState,
                 responses={404: {"description": "unknown version"}, 409: {"description": "clearly worse"}})
    def activate_model(version: Annotated[str, Path(max_length=64, pattern=r"^[^\x00]+$")],
                       force: bool = False) -> ABTestState:
        """Serve a registered model as the active model (variant A); a clearly worse one needs ``force``."""
        try:
            activate(settings, version, actor=actor, force=force)
        except LookupError as err:
            raise HTTPException(404, str(err)) from err
        except ModelChangeRefused as err:
            raise HTTPException(409, str(err)) from err
        with session_scope(url) as session:
            return _ab_state(load_experiment(session))

    @router.get("/rollout", response_model=RolloutState | None)
    def get_rollout() -> dict[str, Any] | None:
        """The latest rollout (null before the first): state, candidate, phase, share and every decision."""
        return rollout_status(settings)

    @router.post("/rollout", response_model=RolloutState,
                 responses={404: {"description": "no such model or rollout"}, 409: {"description": "not now"}})
    def post_rollout(request: RolloutRequest) -> dict[str, Any]:
        """Start a rollout of a candidate, or pause, resume or abort the open one."""
        try:
            if request.action == "start":
                if not request.candidate:
                    raise ValueError("start needs a candidate")
                return start_rollout(settings, candidate=request.candidate, actor=actor, policy=request.policy,
                                     phases=request.phases)
            return control_rollout(settings, request.action, actor=actor)
        except LookupError as err:
            raise HTTPException(404, str(err)) from err
        except ValueError as err:
            raise HTTPException(409, str(err)) from err

    @router.post("/feedback", response_model=FeedbackResult)
    def feedback(request: FeedbackRequest) -> dict[str, Any]:
        """Confirm or correct labels; a correction overrides the label and teaches the merchant memory.

        Each item is checked on its own: a rejected one carries a reason, and the others are stored.
        """
        return record_feedback(settings, request.corrections, allow_new_category=request.allow_new_category,
                               channel="api").as_dict()

    @router.get("/review", response_model=list[ReviewEntry])
    def review(limit: Annotated[int, Query(ge=1, le=1_000)] = 20,
               source: Annotated[str | None, SourceQuery] = None) -> list[dict[str, Any]]:
        """The review queue: one entry per merchant, the correction worth most first."""
        return review_entries(settings, limit=limit, source=source)

    @router.post("/categorize", response_model=CategorizeResponse)
    def categorize(transactions: Annotated[list[Any], Body(max_length=MAX_CATEGORIZE)],
                   force_service: Literal["active", "candidate", "standard", "optimized"] | None = None,
                   source: Annotated[str, SourceQuery] = "default") -> dict[str, Any]:
        """Categorize up to 100 transactions now, with the workers' own code and the source's merchant memory;
        nothing is stored."""
        rt = runtime()
        experiment = rt.experiment()
        forced = parse_forced_variant(force_service)
        if forced == "B" and not experiment.candidate_version:
            raise HTTPException(409, "there is no candidate model")
        variant = assign_variant(uuid.uuid4().hex, experiment, forced)
        batch = validate_batch(transactions, rt.settings)
        report = rt.categorizer(version_for(variant, experiment)).categorize(batch.accepted, rt.memory.lookup(source))
        results = [{"id": t.id, "category": d.category, "confidence": d.confidence,
                    "confidence_level": d.confidence_level, "decided_by": d.decided_by, "rule_id": d.rule_id,
                    "model_version": d.model_version, "needs_review": d.needs_review, "explanation": d.explanation}
                   for t, d in zip(batch.accepted, report.decisions, strict=True)]
        rejected = [{"row_index": r.row_index, "id": r.transaction_id, "reason": r.reason, "detail": r.detail}
                    for r in batch.rejected]
        return {"variant": variant, "results": results, "rejected": rejected}

    return router


def _ab_state(experiment: Any) -> ABTestState:
    return ABTestState(enabled=experiment.enabled, optimized_service_percentage=experiment.candidate_percent,
                       active_version=experiment.active_version, candidate_version=experiment.candidate_version)


def _seed_service(rows: list[dict[str, Any]], variant: str, version: str | None) -> dict[str, Any]:
    """A variant's figures in the seed document's names (``optimized`` is the candidate, ``standard`` the active)."""
    mine = [row for row in rows if (row["variant"] or "A") == variant]
    summary = summarize(mine)
    rate, predictions = summary["cache_hit_rate"], summary["transactions"]
    return {"cache_hit_rate_percent": None if rate is None else round(rate * 100, 2),
            "avg_prediction_time_ms": round(sum(r["total_ms"] for r in mine) / predictions, 4) if predictions else None,
            "total_predictions": predictions, "models_loaded": _loads(version)}


def _loads(version: str | None) -> bool:
    """True when ``version`` is loaded and verified in this process (loading it if need be)."""
    if version is None:
        return False
    try:
        return runtime().categorizer(version).model is not None
    except Exception:  # a model that cannot load is reported as not loaded; /healthz says why
        return False


def _model_check() -> str:
    """``ok`` when the active model loads and verifies; ``none`` when none is registered (rules only)."""
    try:
        rt = runtime()
        version = rt.experiment().active_version
        if version is None:
            return "none"
        return "ok" if rt.categorizer(version).model is not None else "down"
    except Exception as err:
        return f"down: {type(err).__name__}"


def _check(probe: Any) -> str:
    try:
        return "ok" if probe() else "down"
    except Exception as err:  # a health check reports, it never raises
        return f"down: {type(err).__name__}"


def _broker_ok(settings: Settings) -> bool:
    with Connection(settings.effective_broker_url, connect_timeout=1) as connection:
        connection.ensure_connection(max_retries=1)
        return True


def _database_ok(settings: Settings) -> bool:
    with session_scope(settings.effective_database_url) as session:
        return session.execute(text("SELECT 1")).scalar() == 1
