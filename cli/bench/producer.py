"""The producer: a separate process that sends generated transactions, as the ingestion service would.

Rows are generated (or read back from an earlier run) before the clock starts, so the producer
measures sending, not generating.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pipeline.generate import Generator


@dataclass(frozen=True)
class Plan:
    """What one producer sends: ``batch`` messages of ``message_size`` rows, or one naive task per row."""

    kind: str  # batch | naive
    job_id: str
    source: str
    seed: int
    n: int
    message_size: int = 1000
    rows_per_second: float | None = None  # None: as fast as the broker takes them
    offset: int = 0  # first generated row to send


def rows_for(seed: int, n: int, cache_dir: Path) -> list[dict[str, Any]]:
    """Generated rows, kept as JSON Lines so the next run of the same size reads them back."""
    path = cache_dir / f"rows-seed{seed}-n{n}.jsonl"
    if path.is_file():
        with path.open(encoding="utf-8") as handle:
            return [json.loads(line) for line in handle]
    rows = Generator(seed).rows(n)
    for row in rows:
        row.pop("category", None)
        row.pop("merchant", None)
    cache_dir.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".partial")
    with temporary.open("w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in rows)
    temporary.replace(path)
    return rows


def transaction_id(source: str, index: int) -> str:
    """The id a producer gives row ``index``; ``transaction_index`` reads the number back."""
    return f"{source}-{index}"


def transaction_index(transaction_id: str) -> int:
    """The row number a producer wrote into an id (``<source>-<number>``)."""
    return int(transaction_id.rsplit("-", 1)[1])


def produce(plan: Plan, cache_dir: Path, out: Path, go: Any, ready: Any) -> None:
    """Entry point of the producer process: load rows, signal ready, wait for go, send, write times."""
    from pipeline.settings import get_settings
    from tasks.base import PUBLISHED_AT
    from workers.app import create_app
    from workers.client import batches

    app = create_app(get_settings())
    rows = rows_for(plan.seed, plan.offset + plan.n, cache_dir)[plan.offset:]
    for index, row in enumerate(rows):
        row["id"] = transaction_id(plan.source, index)
    connection = app.connection_for_write()
    connection.ensure_connection()
    ready.set()
    go.wait()
    started, cpu_started = time.time(), time.process_time()
    published: list[float] = []
    size = 1 if plan.kind == "naive" else plan.message_size
    for number, batch in enumerate(batches(rows, size)):
        if plan.rows_per_second:
            delay = started + number * size / plan.rows_per_second - time.time()
            if delay > 0:
                time.sleep(delay)
        published.append(time.time())
        if plan.kind == "naive":
            app.send_task("manna.bench.naive_categorize", queue="bench",
                          kwargs={"job_id": plan.job_id, "source": plan.source, "transaction": batch[0]})
        else:
            app.send_task("manna.submit_batch", queue="ingest",
                          kwargs={"job_id": plan.job_id, "transactions": batch, "source": plan.source},
                          headers={PUBLISHED_AT: published[-1]})
    # Its own CPU from go to the last message: loading the rows and importing are not sending.
    out.write_text(json.dumps({"plan": asdict(plan), "message_size": size, "published": published,
                               "cpu_seconds": time.process_time() - cpu_started}))


def start(plan: Plan, cache_dir: Path, out: Path) -> tuple[Any, Any]:
    """Spawn the producer; returns (process, go event) once its rows are loaded."""
    context = multiprocessing.get_context("spawn")
    go, ready = context.Event(), context.Event()
    process = context.Process(target=produce, args=(plan, cache_dir, out, go, ready), daemon=True)
    process.start()
    while not ready.wait(0.5):
        if not process.is_alive():
            raise RuntimeError(f"the producer exited with {process.exitcode} before sending")
    return process, go
