"""The one typed settings object: every ``MANNA_*`` environment variable is read here, once."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

EMBEDDED_BROKER_URL = "memory://localhost/"


class Settings(BaseSettings):
    """Configuration; with nothing set everything runs embedded (memory broker, SQLite, dict cache)."""

    model_config = SettingsConfigDict(env_prefix="MANNA_", extra="ignore", frozen=True)

    # Where things are. None means "embedded".
    broker_url: str | None = None
    database_url: str | None = None
    cache_url: str | None = None
    data_dir: Path = Path(".manna")
    model_dir: Path | None = None
    rules_path: Path | None = None

    # Input contract.
    max_message_transactions: int = Field(1000, ge=1, le=100_000)
    # One chunk per full message: 20% more throughput than 500 on 2 cores (fewer tasks and commits).
    chunk_size: int = Field(1000, ge=1, le=10_000)
    # Messages this small go to the `latency` queue (workers.client): a lane no bulk work queues in.
    # 0 sends every message to `ingest`.
    latency_max_transactions: int = Field(10, ge=0, le=1000)
    default_currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    max_description_length: int = Field(512, ge=16)
    max_abs_amount: float = Field(1e9, gt=0)
    min_date: str = "1970-01-01"
    max_future_days: int = Field(366, ge=0)

    # Decisions.
    abstain_threshold: float = Field(0.5, ge=0.0, le=1.0)
    cache_ttl_seconds: int = Field(3600, ge=1)
    cache_timeout_seconds: float = Field(0.25, gt=0)
    cache_retry_after_seconds: float = Field(5.0, ge=0)
    # Prefix of every cache key: a new namespace starts from an empty cache (the benchmark's cold runs).
    cache_namespace: str = Field("", max_length=64, pattern=r"^[\w.-]*$")
    # A merchant-level cache layer in front of the model (pipeline/merchant_layer.py); on because it
    # kept accuracy within 0.2 points on every labeled set measured (docs/benchmarks.md).
    merchant_cache: bool = True
    experiment_refresh_seconds: float = Field(10.0, ge=0)
    # Merchant memory decides a line once this many of the merchant's newest corrections agree (1: newest wins).
    memory_min_agreement: int = Field(1, ge=1, le=100)

    # Learning from reviews.
    retrain_cron: str = Field("0 2 * * *", description="minute hour day-of-month month day-of-week (UTC)")
    retrain_feedback_weight: float = Field(5.0, ge=1.0, le=1000.0)  # a reviewed line counts this many times
    retrain_holdout_share: float = Field(0.2, gt=0.0, lt=1.0)  # of reviewed merchants, kept out to judge
    retrain_tolerance: float = Field(0.005, ge=0.0, le=1.0)  # accuracy a candidate may lose and still count
    retrain_time_limit: int = Field(3600, ge=60)  # seconds; also the retraining lock's lease
    accuracy_window_minutes: int = Field(10_080, ge=1)  # live accuracy: reviews of the last 7 days
    accuracy_min_reviews: int = Field(20, ge=1)  # fewer reviews in the window: no figure (and no alert)
    rollout_interval_seconds: float = Field(60.0, ge=0.5)  # how often beat runs the rollout controller

    # Celery behaviour.
    task_soft_time_limit: int = Field(120, ge=1)
    task_time_limit: int = Field(150, ge=2)
    task_max_retries: int = Field(8, ge=0)
    retry_backoff_max: int = Field(60, ge=1)
    worker_max_memory_per_child_kb: int = Field(600_000, ge=50_000)
    worker_prefetch_multiplier: int = Field(1, ge=1)
    publish_retry_seconds: float = Field(30.0, ge=0)
    # A running job idle this long has lost a chunk message (a broker crash); None: visibility timeout
    # plus the hard limit, after which every message a worker held has been delivered again.
    stall_seconds: int | None = Field(None, ge=1)
    # Added to the hard limit and the longest retry delay to give the broker's visibility timeout.
    visibility_margin_seconds: int = Field(300, ge=1)
    callback_queue: str = "celery"
    # `manna submit` gives up when its job makes no progress for this long (a big job that moves never is).
    submit_timeout_seconds: float = Field(120.0, gt=0)

    # Operations. Secrets come from the environment only and never reach a log (SecretStr).
    flower_user: str = Field("admin", min_length=1, pattern=r"^[^:]+$")
    flower_password: SecretStr | None = None
    admin_token: SecretStr | None = None
    # Who the admin token stands for: every change made through the API is logged under this name.
    admin_token_name: str = Field("admin", min_length=1, max_length=64)
    log_level: str = "INFO"

    @field_validator("retrain_cron")
    @classmethod
    def _five_cron_fields(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError("MANNA_RETRAIN_CRON needs five fields: minute hour day-of-month month day-of-week")
        return value

    @model_validator(mode="after")
    def _hard_limit_above_soft(self) -> Settings:
        if self.task_time_limit <= self.task_soft_time_limit:
            raise ValueError("MANNA_TASK_TIME_LIMIT must be above MANNA_TASK_SOFT_TIME_LIMIT")
        return self

    @property
    def embedded(self) -> bool:
        """True when no broker is configured: the worker runs inside the calling process."""
        return self.effective_broker_url == EMBEDDED_BROKER_URL

    @property
    def effective_broker_url(self) -> str:
        """The broker URL, with the in-memory transport as the embedded default."""
        return self.broker_url or EMBEDDED_BROKER_URL

    @property
    def effective_database_url(self) -> str:
        """The database URL, with a SQLite file under ``data_dir`` as the embedded default.

        Plain ``postgresql://`` URLs are pinned to psycopg2, the driver this project installs
        (SQLAlchemy 2.1 would pick psycopg 3).
        """
        if not self.database_url:
            return f"sqlite:///{(self.data_dir / 'manna.db').resolve()}"
        for plain in ("postgresql://", "postgres://"):
            if self.database_url.startswith(plain):
                return "postgresql+psycopg2://" + self.database_url[len(plain) :]
        return self.database_url

    @property
    def failure_spool(self) -> Path:
        """Where failures go while the database is unreachable (``manna failed`` imports them)."""
        return self.data_dir / "failed_tasks.spool.jsonl"

    @property
    def effective_model_dir(self) -> Path:
        """Where model artifacts live."""
        return self.model_dir or self.data_dir / "models"

    def retry_delay(self, attempt: int) -> int:
        """Seconds before retry number ``attempt`` (0-based): 1, 2, 4 … capped at the longest retry delay."""
        return int(min(2**attempt, self.retry_backoff_max))

    @property
    def retry_budget_seconds(self) -> int:
        """How long a task keeps retrying a transient fault before it fails."""
        return sum(self.retry_delay(attempt) for attempt in range(self.task_max_retries))

    @property
    def effective_stall_seconds(self) -> int:
        """How long a running job may go without progress before its missing chunks are sent again."""
        return self.stall_seconds or self.visibility_timeout + self.task_time_limit

    @property
    def visibility_timeout(self) -> int:
        """Redis redelivers an unacked message after this: above the hard limit plus retry delay."""
        return self.task_time_limit + self.retry_backoff_max + self.visibility_margin_seconds


_override: Settings | None = None


def get_settings() -> Settings:
    """The process-wide settings: read from the environment on first use, unless overridden."""
    return _override if _override is not None else _from_environment()


@lru_cache(maxsize=1)
def _from_environment() -> Settings:
    return Settings()


def use_settings(settings: Settings | None) -> None:
    """Replace the process-wide settings (the embedded demo, tests); None goes back to the environment."""
    global _override
    _override = settings
    _from_environment.cache_clear()


def redact_url(url: str) -> str:
    """A URL safe for logs: any password replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else url
