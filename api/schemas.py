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


class PerformanceMetrics(BaseModel):
    window_minutes: int
    overall: Performance
    per_variant: list[VariantPerformance]
    failed_tasks: int
    rejected_transactions: int
    models: Models


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
