"""What a run measured, read back from Postgres; and the machine's own limits, measured in the same run."""

from __future__ import annotations

import io
import time
import uuid
from typing import Any

import numpy as np
import redis
from celery import Celery
from sqlalchemy import Engine, text

from cli.bench.producer import transaction_index
from pipeline.performance import percentile
from tasks.bench import NOOP_COUNTER

STAGES = ("normalize", "cache", "rules", "vectorize", "predict", "write")


def label_times(engine: Engine, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Row numbers and commit times (epoch seconds) of every label of a source."""
    with engine.connect() as connection:
        found = connection.execute(text(
            "SELECT transaction_id, extract(epoch FROM categorized_at) FROM labels WHERE source = :source"),
            {"source": source}).all()
    numbers = np.array([transaction_index(t) for t, _ in found], dtype=np.int64)
    return numbers, np.array([float(at) for _, at in found])


def percentiles(values: np.ndarray | list[float], digits: int = 1) -> dict[str, float]:
    """P50, P95 and P99 of latencies in milliseconds, nearest-rank as everywhere (zeros when there are none)."""
    found = {q: percentile(values, q) for q in (50, 95, 99)}
    return {f"p{q}": 0.0 if value is None else round(value, digits) for q, value in found.items()}


def count_labels(engine: Engine, source: str) -> int:
    """Labels committed so far for a source."""
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM labels WHERE source = :source"),
                                      {"source": source}).scalar_one())


def flow(numbers: np.ndarray, committed: np.ndarray, published: list[float], message_size: int) -> dict[str, Any]:
    """Throughput (first message sent to last label committed) and per-transaction latency."""
    sent = np.asarray(published)[numbers // message_size]
    latency_ms = (committed - sent) * 1000.0
    elapsed = float(committed.max() - published[0]) if len(committed) else 0.0
    second = np.floor(committed - published[0]).astype(int)
    per_second = np.bincount(second[second >= 0]) if len(second) else np.zeros(0, dtype=int)
    return {
        "transactions": len(numbers),
        "elapsed_s": round(elapsed, 3),
        "throughput_tps": round(len(numbers) / elapsed, 1) if elapsed > 0 else 0.0,
        "latency_ms": percentiles(latency_ms),
        "labels_per_second": per_second.tolist(),
        "latency_sample_ms": np.sort(latency_ms)[:: max(1, len(latency_ms) // 2000)].round(2).tolist(),
    }


def stage_breakdown(engine: Engine, job_ids: list[str]) -> dict[str, Any]:
    """Per-stage milliseconds per 1,000 transactions, cache hit rate, rule and model shares."""
    columns = ", ".join(f"coalesce(sum({stage}_ms), 0)" for stage in STAGES)
    with engine.connect() as connection:
        row = connection.execute(text(
            f"SELECT count(*), coalesce(sum(rows), 0), coalesce(sum(unique_rows), 0), coalesce(sum(cache_hits), 0), "
            f"coalesce(sum(merchant_cache_hits), 0), "
            f"coalesce(sum(rule_hits), 0), coalesce(sum(model_hits), 0), coalesce(sum(labels_written), 0), "
            f"coalesce(sum(cache_errors), 0), coalesce(avg(queue_wait_ms), 0), {columns} "
            f"FROM task_metrics WHERE job_id = ANY(:jobs)"),
            {"jobs": job_ids}).one()
        # The values, not SQL's percentile_cont (interpolated): the project's one percentile definition.
        waits = connection.execute(text(
            "SELECT queue_wait_ms FROM task_metrics WHERE job_id = ANY(:jobs) AND queue_wait_ms IS NOT NULL"),
            {"jobs": job_ids}).scalars().all()
    tasks, rows, unique, hits, merchant_hits, rule_hits, model_hits, written, cache_errors, wait_mean, *stage_ms = row
    wait_p95 = percentile(waits, 95) or 0.0
    per_thousand = {stage: round(float(ms) * 1000.0 / rows, 2) if rows else 0.0
                    for stage, ms in zip(STAGES, stage_ms, strict=True)}
    decided = rule_hits + model_hits
    return {
        "tasks": int(tasks), "rows": int(rows), "distinct_in_chunk": int(unique),
        "cache_hit_rate": round(hits / unique, 4) if unique else 0.0,  # exact key and merchant layer
        "merchant_cache_hit_rate": round(merchant_hits / unique, 4) if unique else 0.0,
        "rule_share": round(rule_hits / decided, 4) if decided else 0.0,
        "model_share": round(model_hits / decided, 4) if decided else 0.0,
        "cache_errors": int(cache_errors),
        "queue_wait_ms": {"mean": round(float(wait_mean), 1), "p95": round(float(wait_p95), 1)},
        "ms_per_1000_transactions": per_thousand,
        "write_rows_per_s": round(written / (float(stage_ms[-1]) / 1000.0), 1) if stage_ms[-1] else 0.0,
    }


def postgres_copy_rows_per_s(engine: Engine, rows: int = 100_000) -> float:
    """COPY of label-shaped rows into a temporary table: the database's own ceiling here."""
    payload = "".join(f"bench\tt-{i}\tfood.coffee\t0.97\tvery_high\tmodel\tm-x\tA\n" for i in range(rows))
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("CREATE TEMP TABLE bench_copy (source text, transaction_id text, category text, "
                       "confidence float8, confidence_level text, decided_by text, model_version text, variant text)")
        started = time.perf_counter()
        cursor.copy_expert("COPY bench_copy FROM STDIN", io.StringIO(payload))
        connection.commit()
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_copy")
        connection.commit()
    finally:
        connection.close()
    return round(rows / elapsed, 1)


def redis_mget_keys_per_s(client: redis.Redis, keys: int = 100_000, per_call: int = 500) -> float:
    """MGET of cache-sized values, ``per_call`` keys a call (one chunk's worth)."""
    prefix = f"manna:bench:mget:{uuid.uuid4().hex[:8]}:"
    names = [f"{prefix}{i}" for i in range(per_call)]
    client.mset({name: '["food.coffee",0.97,"model",null,"m-x",false,"w:coffee +2.10"]' for name in names})
    started = time.perf_counter()
    for _ in range(keys // per_call):
        client.mget(names)
    elapsed = time.perf_counter() - started
    client.delete(*names)
    return round(keys / elapsed, 1)


def empty_task_rate(app: Celery, client: redis.Redis, run: str, tasks: int = 1_000, timeout: float = 120.0) -> float:
    """Empty tasks per second through this broker and these workers: Celery's own ceiling."""
    counter = NOOP_COUNTER.format(run=run)
    started = time.perf_counter()
    for _ in range(tasks):
        app.send_task("manna.bench.noop", kwargs={"run": run}, queue="bench")
    deadline = time.monotonic() + timeout
    while int(client.get(counter) or 0) < tasks:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {client.get(counter)} of {tasks} empty tasks ran")
        time.sleep(0.02)
    return round(tasks / (time.perf_counter() - started), 1)
