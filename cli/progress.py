"""Follow a job in the database with a progress bar until it has finished."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from db.engine import session_scope
from db.jobs import job_summary


def follow_job(database_url: str, job_id: str, expected_rows: int, console: Console,
               poll_seconds: float = 0.2) -> dict[str, Any]:
    """Block until all ``expected_rows`` are received and the job is finished; returns the job row."""
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        bar = progress.add_task(f"job {job_id}", total=expected_rows)
        while True:
            with session_scope(database_url) as session:
                job = job_summary(session, job_id)
            if job is not None:
                progress.update(bar, completed=job["labeled"] + job["rejected"])
                if job["received"] >= expected_rows and job["status"] == "finished":
                    return job
            time.sleep(poll_seconds)
