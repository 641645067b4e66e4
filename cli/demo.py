"""``manna demo``: generated transactions through the real task path, embedded, then a summary."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pipeline.settings import Settings, use_settings

DEMO_DIR = Path(".manna") / "demo"  # under the working directory, whatever MANNA_DATA_DIR says: the demo's own


def run_demo(count: int, seed: int, console: Console) -> None:
    """Train if needed, categorize ``count`` generated lines with an in-process worker, summarize."""
    settings = Settings(broker_url=None, database_url=None, cache_url=None, data_dir=DEMO_DIR.resolve(),
                        model_dir=None)
    use_settings(settings)
    from cli.progress import follow_job
    from db.engine import session_scope
    from db.migrate import upgrade
    from db.registry import load_experiment
    from pipeline.generate import Generator
    from services.training import train_default_model
    from workers.app import create_app
    from workers.client import submit_rows
    from workers.embedded import embedded_worker

    console.rule("[bold]Manna demo[/bold] (embedded: in-memory broker, SQLite, in-process cache)")
    started = time.perf_counter()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.effective_database_url)
    with session_scope(settings.effective_database_url) as session:
        active = load_experiment(session).active_version
    if active is None:
        console.print("no model yet: training the default model once (it is reused on later runs)")
        active = train_default_model(settings, progress=lambda m: console.print(f"  {m}"))
    console.print(f"serving model {active}")
    job_id = f"demo-{uuid.uuid4().hex[:8]}"
    rows = Generator(seed).rows(count, id_prefix=f"{job_id}-")
    app = create_app(settings)
    with embedded_worker(app):
        sent_at = time.perf_counter()
        submit_rows(app, rows, job_id=job_id, source="demo", max_per_message=settings.max_message_transactions)
        job = follow_job(settings, job_id, count, console)
        elapsed = time.perf_counter() - sent_at
    _summary(settings, job_id, job, elapsed, time.perf_counter() - started, console)


def _summary(settings: Settings, job_id: str, job: dict[str, object], elapsed: float, total: float,
             console: Console) -> None:
    from db.engine import session_scope
    from db.queries import label_counts, rejection_reasons, review_count, task_totals

    with session_scope(settings.effective_database_url) as session:
        categories = label_counts(session, job_id, "category")
        deciders = label_counts(session, job_id, "decided_by")
        totals = task_totals(session, job_id)
        review = review_count(session, job_id)
        reasons = rejection_reasons(session, job_id)
    labeled = int(str(job["labeled"]))
    table = Table(title=f"Top categories of job {job_id}")
    for column in ("category", "labels", "share", "mean confidence"):
        table.add_column(column, justify="left" if column == "category" else "right")
    for name, n, conf in categories[:15]:
        table.add_row(name, f"{n:,}", f"{n / max(labeled, 1):.1%}", f"{conf:.2f}")
    if len(categories) > 15:
        rest = sum(n for _, n, _ in categories[15:])
        table.add_row(f"({len(categories) - 15} more categories)", f"{rest:,}", f"{rest / max(labeled, 1):.1%}", "")
    console.print(table)
    decided = Table(title="Decided by")
    for column in ("decided_by", "labels", "share", "mean confidence"):
        decided.add_column(column, justify="left" if column == "decided_by" else "right")
    for name, n, conf in deciders:
        decided.add_row(name, f"{n:,}", f"{n / max(labeled, 1):.1%}", f"{conf:.2f}")
    console.print(decided)
    unique = max(totals["unique_rows"], 1)
    console.print(
        f"labeled {labeled:,} of {job['received']:,} transactions ({job['rejected']} rejected{_reasons(reasons)}); "
        f"{review:,} flagged for review\n"
        f"chunks: {int(totals['tasks'])}; unique lines per chunk decided once: {int(totals['unique_rows']):,}; "
        f"cache hits {int(totals['cache_hits']):,} ({totals['cache_hits'] / unique:.0%} of unique lines)\n"
        f"throughput: {_throughput(labeled, elapsed)} ({elapsed:.1f} s from first message to last label; "
        f"{total:.1f} s in all)\n"
        f"results: MANNA_DATABASE_URL={settings.effective_database_url} manna export --job {job_id} "
        f"--out labels.csv\n"
        f"  or SQL on {settings.effective_database_url}: "
        f"SELECT * FROM categorized_transactions WHERE job_id = '{job_id}';"
    )


def _throughput(labeled: int, elapsed: float) -> str:
    """The demo's rate, said to be a short run's when under MIN_THROUGHPUT_SECONDS (the job figures show none)."""
    from pipeline.performance import MIN_THROUGHPUT_SECONDS, throughput

    if throughput(labeled, elapsed) is not None:
        return f"{labeled / elapsed:,.0f} transactions/s"
    return (f"{labeled / max(elapsed, 1e-9):,.0f} transactions/s over a run under {MIN_THROUGHPUT_SECONDS:g} s, "
            "embedded; `manna bench` measures the real stack")


def _reasons(reasons: list[tuple[str, int]]) -> str:
    return ": " + ", ".join(f"{r} {n}" for r, n in reasons) if reasons else ""
