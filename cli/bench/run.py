"""The scenarios of ``manna bench``: each runs our pipeline (and, asked, the naive design) on real servers."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import redis
from sqlalchemy import Engine, create_engine, text

from cli.bench import measure
from cli.bench.cpu import CpuMeter, Snapshot
from cli.bench.producer import Plan, rows_for, start, transaction_id
from cli.bench.stack import BenchError, WorkerPool
from pipeline.settings import Settings, get_settings
from tasks.base import PUBLISHED_AT
from workers.client import queue_for

DEFAULT_N = {"cold": 1_000_000, "warm": 1_000_000, "stream": 300_000, "latency": 20_000, "soak": 20_000}
QUICK_N, BASELINE_N, QUICK_BASELINE_N = 20_000, 3_000, 300
STREAM_DAYS = 30
STALL_SECONDS = 180.0
PROGRESS_EVERY = 5.0


@dataclass(frozen=True)
class Options:
    """What the command line asked for."""

    scenario: str
    n: int | None = None
    workers: int = os.cpu_count() or 2
    baseline: bool = False
    quick: bool = False
    minutes: float = 10.0
    seed: int = 7


class Bench:
    """One benchmark run: its servers, workers, and every measurement it takes."""

    def __init__(self, options: Options, settings: Settings, progress: Callable[[str], None]) -> None:
        self.options = options
        self.settings = settings
        self.progress = progress
        self.run = f"bench-{uuid.uuid4().hex[:8]}"
        self.dir = settings.data_dir / "bench"
        self.engine: Engine = create_engine(settings.effective_database_url)
        self.redis = redis.Redis.from_url(settings.cache_url or "")
        from workers.app import create_app

        self.app = create_app(settings)
        self.cpu = CpuMeter(lambda: None)  # given the worker pool's pid once it runs

    @property
    def n(self) -> int:
        """Transactions for the main run."""
        return self.options.n or (QUICK_N if self.options.quick else DEFAULT_N[self.options.scenario])

    def job(self, plan: Plan) -> dict[str, Any]:
        """Send a plan from a producer process and wait for every label; the run's flow figures."""
        return self.finish(plan, *self.send(plan))

    def send(self, plan: Plan) -> tuple[Any, Snapshot]:
        """Start a producer sending ``plan``; returns its process and the CPU counters before, for ``finish``."""
        process, go = start(plan, self.dir, self._sent_path(plan))
        cpu_before = self.cpu.snapshot()
        go.set()
        return process, cpu_before

    def finish(self, plan: Plan, producer: Any, cpu_before: Snapshot) -> dict[str, Any]:
        """Wait for every label of a plan being sent; the run's flow and CPU figures."""
        self.wait_for_labels(plan.source, plan.n)
        producer.join(timeout=60)
        # Before reading the labels back: that read is the harness's work, not the pipeline's.
        cpu_after = self.cpu.snapshot()
        sent = json.loads(self._sent_path(plan).read_text())
        # The producer times itself, from go to its last message (cli/bench/producer.py).
        cpu = CpuMeter.per_transaction(cpu_before | {"producer": 0.0}, cpu_after | {"producer": sent["cpu_seconds"]},
                                       plan.n)
        numbers, committed = measure.label_times(self.engine, plan.source)
        result = measure.flow(numbers, committed, sent["published"], sent["message_size"]) | {"cpu_us_per_tx": cpu}
        if plan.kind == "batch":
            result["stages"] = measure.stage_breakdown(self.engine, [plan.job_id])
            result["cache_hit_rate"] = result["stages"]["cache_hit_rate"]
        self.progress(f"{plan.source}: {plan.n:,} transactions, {result['throughput_tps']:,.0f} tx/s, "
                      f"P95 {result['latency_ms']['p95']:,.0f} ms, {cpu['total']:,.0f} us CPU per transaction")
        return result

    def _sent_path(self, plan: Plan) -> Path:
        return self.dir / f"{plan.source}.json"

    def batch_plan(self, name: str, n: int, *, offset: int = 0, rate: float | None = None) -> Plan:
        """A plan of contract-sized ``manna.submit_batch`` messages under a source of this run."""
        source = f"{self.run}-{name}"
        return Plan("batch", source, source, self.options.seed, n, self.settings.max_message_transactions,
                    rate, offset)

    def wait_for_labels(self, source: str, expected: int) -> None:
        """Until a source has ``expected`` labels; an error if nothing moves for a long while."""
        last, last_change, last_report = -1, time.monotonic(), 0.0
        while True:
            done = measure.count_labels(self.engine, source)
            if done >= expected:
                return
            now = time.monotonic()
            if done != last:
                last, last_change = done, now
            elif now - last_change > STALL_SECONDS:
                raise BenchError(f"{source}: stuck at {done:,}/{expected:,} labels for {STALL_SECONDS:.0f} s; "
                                 f"see {self.dir / (self.run + '-worker.log')}")
            if now - last_report >= PROGRESS_EVERY:
                self.progress(f"{source}: {done:,}/{expected:,} labeled")
                last_report = now
            time.sleep(0.5)

    def limits(self, tasks: int) -> dict[str, float]:
        """The machine's ceilings, measured now: what bounds the pipeline if nothing else does."""
        self.progress("measuring the machine's limits (Postgres COPY, Redis MGET, empty tasks)")
        return {"postgres_copy_rows_per_s": measure.postgres_copy_rows_per_s(self.engine),
                "redis_mget_keys_per_s": measure.redis_mget_keys_per_s(self.redis),
                "empty_tasks_per_s": measure.empty_task_rate(self.app, self.redis, f"{self.run}-noop", tasks)}

    def probe_latency(self, name: str, probes: int) -> dict[str, Any]:
        """Single-transaction jobs, one at a time: submit to label committed."""
        rows = rows_for(self.options.seed + 1, probes, self.dir)
        source = f"{self.run}-{name}"
        latencies = []
        for index, row in enumerate(rows):
            row = {**row, "id": transaction_id(source, index)}
            published = time.time()
            kwargs = {"job_id": f"{source}-{index}", "transactions": [row], "source": source}
            self.app.send_task("manna.submit_batch", queue=queue_for(1, self.settings),
                               headers={PUBLISHED_AT: published}, kwargs=kwargs)
            committed = self._wait_for_one(source, row["id"])
            latencies.append((committed - published) * 1000.0)
            time.sleep(0.02)
        values = np.array(latencies)
        return {"probes": probes, "latency_ms": measure.percentiles(values),
                "latency_sample_ms": np.sort(values).round(2).tolist()}

    def _wait_for_one(self, source: str, transaction_id: str, timeout: float = 30.0) -> float:
        deadline = time.monotonic() + timeout
        query = text("SELECT extract(epoch FROM categorized_at) FROM labels "
                     "WHERE source = :source AND transaction_id = :id")
        with self.engine.connect() as connection:
            while time.monotonic() < deadline:
                found = connection.execute(query, {"source": source, "id": transaction_id}).scalar()
                connection.commit()
                if found is not None:
                    return float(found)
                time.sleep(0.002)
        raise BenchError(f"probe {transaction_id} was not labeled within {timeout:.0f} s")


def run_bench(options: Options, progress: Callable[[str], None]) -> dict[str, Any]:
    """Run one scenario end to end and return its results (the JSON the command writes)."""
    settings = get_settings()
    if settings.embedded or not settings.cache_url or not settings.effective_database_url.startswith("postgresql"):
        raise BenchError("manna bench measures the real stack: set MANNA_BROKER_URL and MANNA_CACHE_URL (Redis) "
                         "and MANNA_DATABASE_URL (postgresql://...)")
    _prepare(settings, progress)
    bench = Bench(options, settings, progress)
    result: dict[str, Any] = {
        "scenario": options.scenario, "run": bench.run, "n": bench.n, "workers": options.workers,
        "quick": options.quick, "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cores": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
                    "python": platform.python_version(), "platform": platform.platform()},
    }
    with WorkerPool(options.workers, bench.run, bench.dir / f"{bench.run}-worker.log") as pool:
        bench.cpu = CpuMeter(lambda: pool.pid)
        pool.wait_ready(bench.app, bench.redis)
        result["limits"] = bench.limits(300 if options.quick else 2_000)
        result.update(SCENARIO_RUNNERS[options.scenario](bench))
        if options.baseline:
            result.update(_baseline(bench, result))
        result["peak_rss_mb"] = round(max(pool.peak_rss.values(), default=0) / 2**20, 1)
        result["rss_timeline_mb"] = [(round(t, 2), round(rss / 2**20, 1)) for t, rss in pool.timeline]
        if "soak" in result:
            result["soak"]["rss_growth_pct"] = rss_growth_pct(result["rss_timeline_mb"], result["soak"]["started_at"])
    return result


def _prepare(settings: Settings, progress: Callable[[str], None]) -> None:
    from db.engine import session_scope
    from db.migrate import upgrade
    from db.registry import load_experiment
    from services.training import train_default_model

    upgrade(settings.effective_database_url)
    with session_scope(settings.effective_database_url) as session:
        active = load_experiment(session).active_version
    if active is None:
        progress("no active model: training the default one first")
        train_default_model(settings, progress=progress)


def _cold(bench: Bench) -> dict[str, Any]:
    cold = bench.job(bench.batch_plan("cold", bench.n))
    return {"cold": cold} | _headline(cold)


def _warm(bench: Bench) -> dict[str, Any]:
    cold = bench.job(bench.batch_plan("cold", bench.n))
    warm = bench.job(bench.batch_plan("warm", bench.n))  # the same lines again, now cached
    return {"cold": cold, "warm": warm} | _headline(warm)


def _stream(bench: Bench) -> dict[str, Any]:
    per_day = bench.n // STREAM_DAYS
    days = [bench.job(bench.batch_plan(f"day{day:02d}", per_day, offset=day * per_day))
            for day in range(STREAM_DAYS)]
    lookups = sum(d["stages"]["distinct_in_chunk"] for d in days)
    hits = sum(d["stages"]["cache_hit_rate"] * d["stages"]["distinct_in_chunk"] for d in days)
    merchant = sum(d["stages"]["merchant_cache_hit_rate"] * d["stages"]["distinct_in_chunk"] for d in days)
    elapsed = sum(d["elapsed_s"] for d in days)
    latency = np.concatenate([d["latency_sample_ms"] for d in days])
    return {"days": [{k: d[k] for k in ("throughput_tps", "cache_hit_rate", "latency_ms")}
                     | {"merchant_cache_hit_rate": d["stages"]["merchant_cache_hit_rate"]} for d in days],
            "throughput_tps": round(per_day * STREAM_DAYS / elapsed, 1),
            "latency_ms": measure.percentiles(latency),
            "cache_hit_rate": round(hits / lookups, 4) if lookups else 0.0,
            "cache_hit_rates": _hit_rates(hits, merchant, lookups),
            "cache_key_study": _cache_key_study(bench, per_day * STREAM_DAYS),
            "labels_per_second": [x for d in days for x in d["labels_per_second"]],
            "cpu_us_per_tx": {role: round(float(np.mean([d["cpu_us_per_tx"][role] for d in days])), 1)
                              for role in days[0]["cpu_us_per_tx"]},
            "latency_sample_ms": latency.tolist()[:: max(1, len(latency) // 2000)],
            "stages": days[-1]["stages"]}


def _hit_rates(hits: float, merchant: float, lookups: int) -> dict[str, float]:
    """The stream's hit rate split by layer: the exact key, the merchant layer, both."""
    if not lookups:
        return {"exact": 0.0, "merchant": 0.0, "total": 0.0}
    return {"exact": round((hits - merchant) / lookups, 4), "merchant": round(merchant / lookups, 4),
            "total": round(hits / lookups, 4)}


def _latency(bench: Bench) -> dict[str, Any]:
    """Single-transaction jobs on the latency lane (its own ``-c 1`` worker, as deployed): idle, under
    half the peak rate, and while a backlog of bulk messages waits on ``ingest``."""
    probes, load_s, backlog_s = (20, 20, 5) if bench.options.quick else (200, 90, 15)
    with WorkerPool(1, bench.run, bench.dir / f"{bench.run}-latency-worker.log", queues="latency",
                    node=f"{bench.run}-latency") as lane:
        lane.wait_ready(bench.app, bench.redis)
        bench.probe_latency("warmup", 5)  # the lane's child loads its model on the first message
        idle = bench.probe_latency("idle", probes)
        peak = bench.job(bench.batch_plan("peak", bench.n))["throughput_tps"]
        rate = peak / 2
        loaded, load = _probes_under(bench, bench.batch_plan("load", int(rate * load_s), rate=rate), probes)
        backlog, flood = _probes_under(bench, bench.batch_plan("backlog", int(peak * backlog_s)), probes)
    return {"latency_idle": idle, "latency_loaded": loaded | {"load_tps": round(rate, 1), "peak_tps": peak},
            "latency_backlog": backlog | {"backlog_rows": flood["n"], "backlog_tps": flood["throughput_tps"]},
            "load": load, "latency_ms": idle["latency_ms"], "throughput_tps": peak,
            "cpu_us_per_tx": load["cpu_us_per_tx"]}


def _probes_under(bench: Bench, plan: Plan, probes: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Probe latency while ``plan`` is being sent and worked through; (probes, the plan's own figures)."""
    producer, cpu_before = bench.send(plan)
    time.sleep(2.0)  # let the load reach its pace, or the backlog build up
    probed = bench.probe_latency(plan.source.rsplit("-", 1)[1] + "-probes", probes)
    return probed, bench.finish(plan, producer, cpu_before) | {"n": plan.n}


def _soak(bench: Bench) -> dict[str, Any]:
    minutes = 1.0 if bench.options.quick else bench.options.minutes
    peak = bench.job(bench.batch_plan("peak", bench.n))["throughput_tps"]
    rate = peak / 2
    started = time.time()
    soak = bench.job(bench.batch_plan("soak", int(rate * minutes * 60), rate=rate)) | {"started_at": started}
    return {"soak": soak, "soak_minutes": minutes, "soak_rate_tps": round(rate, 1)} | _headline(soak)


def rss_growth_pct(timeline: list[tuple[float, float]], started_at: float) -> float:
    """Growth of the pool's RSS during a soak: its last minute against its second minute.

    The first minute is left out: caches and allocator pools fill there, and that is not a leak.
    """
    points = [(t - started_at, rss) for t, rss in timeline if t >= started_at]
    end = points[-1][0] if points else 0.0
    early = [rss for t, rss in points if 60 <= t < 120]
    late = [rss for t, rss in points if t >= end - 60]
    if not early or not late:
        return 0.0
    return round((float(np.mean(late)) / float(np.mean(early)) - 1) * 100, 2)


def _headline(run: dict[str, Any]) -> dict[str, Any]:
    return {"throughput_tps": run["throughput_tps"], "latency_ms": run["latency_ms"],
            "cache_hit_rate": run.get("cache_hit_rate", 0.0), "cpu_us_per_tx": run["cpu_us_per_tx"]}


def _baseline(bench: Bench, result: dict[str, Any]) -> dict[str, Any]:
    n = QUICK_BASELINE_N if bench.options.quick else BASELINE_N
    source = f"{bench.run}-naive"
    naive = bench.job(Plan("naive", source, source, bench.options.seed, n))
    ours = result.get("cold", result)["throughput_tps"]
    return {"baseline": naive, "baseline_throughput_tps": naive["throughput_tps"],
            "ratio_vs_baseline": round(ours / naive["throughput_tps"], 1) if naive["throughput_tps"] else None}


def _cache_key_study(bench: Bench, n: int) -> dict[str, float]:
    """Hit rates an unbounded cache would reach on the stream under three key choices."""
    from pipeline.features import AMOUNT_EDGES, amount_bucket
    from pipeline.merchant_layer import layer_key
    from pipeline.normalize import feature_text, merchant_key_of_text

    rows = rows_for(bench.options.seed, n, bench.dir)[:n]
    amounts = np.array([float(r["amount"]) for r in rows])
    signs, buckets = np.sign(amounts).tolist(), amount_bucket(amounts, AMOUNT_EDGES).tolist()
    texts = [feature_text(r["description"]) for r in rows]
    keys = {
        "raw_description_and_amount": {(r["description"], r["amount"]) for r in rows},
        "feature_text_sign_bucket (ours)": set(zip(texts, signs, buckets, strict=True)),
        "merchant_key_sign": {(merchant_key_of_text(t), s) for t, s in zip(texts, signs, strict=True)},
        "merchant_layer_key_sign (ours)": {(layer_key(t), s) for t, s in zip(texts, signs, strict=True)},
    }
    return {name: round(1 - len(distinct) / len(rows), 4) for name, distinct in keys.items()}


SCENARIO_RUNNERS: dict[str, Callable[[Bench], dict[str, Any]]] = {
    "cold": _cold, "warm": _warm, "stream": _stream, "latency": _latency, "soak": _soak}


def save(result: dict[str, Any], path: Path) -> None:
    """Write the results as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2), encoding="utf-8")
