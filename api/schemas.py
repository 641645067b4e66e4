"""Request and response bodies of the admin API (they make its OpenAPI spec)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from pipeline.performance import MIN_THROUGHPUT_SECONDS


class Percentiles(BaseModel):
    """Weighted nearest-rank: the smallest value with at least that share at or below it."""

    avg: float | None
    p95: float | None
    p99: float | None


class Performance(BaseModel):
    tasks: int
    transactions: int
    memory_hits: int = Field(description="Transactions decided by the merchant memory (reviewers' corrections).")
    cache_hits: int
    rule_hits: int
    model_hits: int
    cache_errors: int
    cache_hit_rate: float | None
    task_ms: Percentiles
    transaction_ms: Percentiles = Field(description="Chunk publish to label commit, per transaction.")
    throughput_tps: float | None = Field(description=(
        "Transactions over the seconds when at least one chunk was in flight (publish to commit); "
        f"null under {MIN_THROUGHPUT_SECONDS:g} s of such work, where a figure would extrapolate one small job."))


class VariantPerformance(Performance):
    variant: str
    model_version: str


class Models(BaseModel):
    active_version: str | None
    candidate_version: str | None
    loaded_here: list[str] = Field(description="Versions this API process has loaded and verified.")


class VariantAccuracy(BaseModel):
    variant: str
    model_version: str
    reviews: int
    confirmations: int
    accuracy: float | None


class LiveAccuracy(BaseModel):
    window_minutes: int
    reviews: int = Field(description="Reviews of pipeline labels in the window (reviews of overrides excluded).")
    confirmations: int
    accuracy: float | None = Field(description="Confirmations over reviews; null below min_reviews.")
    min_reviews: int
    per_variant: list[VariantAccuracy]


class SeedService(BaseModel):
    """One service in the shape of the seed document's monitoring example."""

    cache_hit_rate_percent: float | None
    avg_prediction_time_ms: float | None = Field(description="Chunk run time per transaction, writes included.")
    total_predictions: int
    models_loaded: bool


class PerformanceMetrics(BaseModel):
    optimized: SeedService = Field(description="The seed's shape: the candidate model (variant B).")
    standard: SeedService = Field(description="The seed's shape: the active model (variant A).")
    window_minutes: int
    overall: Performance
    per_variant: list[VariantPerformance]
    failed_tasks: int
    rejected_transactions: int
    models: Models
    live_accuracy: LiveAccuracy


class BenchmarkRequest(BaseModel):
    transactions: int = Field(20_000, ge=30, le=1_000_000, description="Transactions the quick benchmark sends.")


class BenchmarkStarted(BaseModel):
    id: str
    status: Literal["running"]


class BenchmarkStatus(BaseModel):
    id: str
    status: Literal["running", "finished", "failed"]
    result: dict[str, Any] | None = Field(description="The JSON of `manna bench --json` once finished.")
    log_tail: str | None


class ABTestConfig(BaseModel):
    enabled: bool = Field(description="false routes every task to the active (standard) model.")
    optimized_service_percentage: float | None = Field(
        None, ge=0, le=100, description="The candidate (optimized) model's share of tasks; omitted: unchanged.")


class ABTestState(BaseModel):
    enabled: bool
    optimized_service_percentage: float
    active_version: str | None
    candidate_version: str | None


class CandidateRequest(BaseModel):
    version: str | None = Field(description="The model to serve as the candidate (variant B); null clears it.")
    percent: float = Field(0.0, ge=0, le=100, description="Its share of tasks.")


class Label(BaseModel):
    id: str
    category: str
    confidence: float
    confidence_level: str
    decided_by: str
    rule_id: str | None
    model_version: str | None
    needs_review: bool
    explanation: str


class Rejected(BaseModel):
    row_index: int
    id: str | None
    reason: str
    detail: str


class CategorizeResponse(BaseModel):
    variant: Literal["A", "B"]
    results: list[Label]
    rejected: list[Rejected]


class WorkerHealth(BaseModel):
    ok: bool = Field(description="A worker answered on every queue the pipeline needs (ingest, categorize).")
    detail: str = Field(description="For example: no worker answered on queue ingest.")
    workers: list[str] = Field(description="Workers that answered.")
    checked_seconds_ago: float = Field(description="Age of the answer: workers are asked at most every few seconds.")


class Health(BaseModel):
    status: Literal["ok", "degraded", "down"]
    checks: dict[str, str]
    workers: WorkerHealth


class FeedbackRequest(BaseModel):
    corrections: list[Any] = Field(max_length=1_000, description=(
        "Reviews: {source, transaction_id, category, reviewer?, note?}. The label's own category confirms "
        "it; another corrects it. A malformed item is rejected with a reason; the others go on."))
    allow_new_category: bool = Field(False, description="Accept categories the serving model does not know.")


class FeedbackRejection(BaseModel):
    index: int
    source: str | None
    transaction_id: str | None
    reason: str
    detail: str


class FeedbackResult(BaseModel):
    accepted: int
    rejected: int
    reasons: dict[str, int]
    confirmations: int
    corrections: int
    new_categories: list[str]
    rejections: list[FeedbackRejection]


class ReviewEntry(BaseModel):
    rank: int
    source: str
    merchant_key: str
    transaction_id: str = Field(description="The label to review: the merchant's least confident one.")
    description: str
    amount: str
    category: str
    confidence: float
    decided_by: str
    labels: int = Field(description="Unreviewed labels of this merchant.")
    expected_errors: float = Field(description="Sum of (1 - confidence) over them: the wrong labels expected.")
    why: str


class RolloutRequest(BaseModel):
    action: Literal["start", "pause", "resume", "abort"]
    candidate: str | None = Field(None, max_length=64, description="With start: a registered model version.")
    policy: Literal["seed", "retrain"] = "seed"
    phases: list[float] | None = Field(None, max_length=20, description="With start: shares rising to 100.")


class RolloutEventOut(BaseModel):
    at: Any
    decision: str
    phase: int | None
    percent: float | None
    reason: str
    figures: dict[str, Any]
    actor: str


class RolloutState(BaseModel):
    id: int
    state: Literal["running", "paused", "completed", "rolled_back", "aborted"]
    candidate: str
    active_at_start: str | None
    policy: str
    phases: list[float]
    phase: int
    percent: float
    started_at: Any
    phase_started_at: Any
    finished_at: Any
    baseline: dict[str, Any]
    events: list[RolloutEventOut]
