"""``manna status``: one screen of what the pipeline is doing now, optionally refreshed live."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rich.console import Group
from rich.table import Table

from pipeline.settings import Settings


def snapshot(settings: Settings) -> dict[str, Any]:
    """Queues, workers, jobs in flight, the last hour per variant, pending failures, alerts."""
    from db.alerts import alert_states
    from db.engine import session_scope
    from db.failures import pending_failure_count
    from db.queries import chunk_metrics, running_jobs
    from pipeline.performance import by_variant, summarize
    from workers.broker import queue_depths

    since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    with session_scope(settings.effective_database_url) as session:
        rows = chunk_metrics(session, since=since)
        jobs_running, jobs = running_jobs(session)
        failures = pending_failure_count(session)
        alerts = [(a.name, a.state) for a in alert_states(session)]
    return {"queues": queue_depths(settings.effective_broker_url), "workers": _workers(settings),
            "jobs_running": jobs_running, "jobs": jobs,
            "last_hour": summarize(rows), "per_variant": by_variant(rows), "failed_pending": failures,
            "alerts": alerts}


def render(data: dict[str, Any]) -> Group:
    """The snapshot as rich tables."""
    head = Table.grid(padding=(0, 2))
    queues = ", ".join(f"{name} {depth:,}" for name, depth in data["queues"].items())
    hour = data["last_hour"]
    head.add_row("queues", queues or "unknown (broker down, or not Redis)")
    head.add_row("workers", ", ".join(data["workers"]) or "[red]none answering[/red]")
    head.add_row("jobs running", f"{data['jobs_running']:,}")
    head.add_row("last hour", f"{hour['transactions']:,} transactions, {_tps(hour['throughput_tps'])} tx/s, "
                              f"P95 {_ms(hour['transaction_ms']['p95'])}, cache hits {_pct(hour['cache_hit_rate'])}")
    head.add_row("failed tasks", f"{data['failed_pending']:,} pending re-drive" if data["failed_pending"] else "none")
    firing = [name for name, state in data["alerts"] if state == "firing"]
    head.add_row("alerts", f"[red]firing: {', '.join(firing)}[/red]" if firing else
                 ("none firing" if data["alerts"] else "not evaluated yet (is beat running?)"))
    variants = Table(title="last hour per variant", title_justify="left")
    for column in ("variant", "model", "tasks", "transactions", "tx/s", "P95 ms", "cache hits"):
        variants.add_column(column)
    for v in data["per_variant"]:
        variants.add_row(v["variant"], v["model_version"], f"{v['tasks']:,}", f"{v['transactions']:,}",
                         _tps(v["throughput_tps"]), _ms(v["transaction_ms"]["p95"]), _pct(v["cache_hit_rate"]))
    jobs = Table(title="jobs in flight (latest)", title_justify="left")
    for column in ("job", "source", "received", "labeled", "chunks"):
        jobs.add_column(column)
    for j in data["jobs"]:
        jobs.add_row(j["job_id"], j["source"], f"{j['received']:,}", f"{j['labeled']:,}",
                     f"{j['chunks_done']}/{j['chunks_total']}")
    return Group(head, variants, jobs)


def _workers(settings: Settings) -> list[str]:
    """Workers that answered (the same broadcast as ``/healthz``); none when embedded or the broker is down."""
    from workers.monitor import answering_workers, control_app

    if settings.embedded:
        return []
    return sorted(answering_workers(control_app(settings), timeout=1.0) or {})


def _tps(value: float | None) -> str:
    """Throughput, or n/a under the minimum of work it is measured over (``MIN_THROUGHPUT_SECONDS``)."""
    return "n/a" if value is None else f"{value:,.0f}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ms"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"
