"""Request and response bodies of the admin API (they make its OpenAPI spec)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class Percentiles(BaseModel):
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
    throughput_tps: float


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


class PerformanceMetrics(BaseModel):
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
    enabled: bool
    optimized_service_percentage: int = Field(ge=0, le=100, description="The candidate model's share of tasks.")


class ABTestState(ABTestConfig):
    active_version: str | None
    candidate_version: str | None


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


class Health(BaseModel):
    status: Literal["ok", "degraded", "down"]
    checks: dict[str, str]


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
