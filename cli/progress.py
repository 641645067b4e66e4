"""A progress bar that follows a job in the database until it has finished."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pipeline.settings import Settings
from services.jobs import Outcome, wait_for_job


@contextmanager
def job_progress(console: Console, job_id: str, total: int) -> Iterator[Callable[[Outcome], None]]:
    """A callback that moves a bar to the rows the job has handled (labeled or rejected)."""
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(f"job {job_id}", total=total)
        yield lambda outcome: progress.update(task, completed=outcome.labeled + outcome.rejected)


def follow_job(settings: Settings, job_id: str, expected_rows: int, console: Console) -> dict[str, Any]:
    """Block with a progress bar until the job has finished; returns its counts."""
    with job_progress(console, job_id, expected_rows) as show:
        return wait_for_job(settings, job_id, expected_rows, progress=show,
                            timeout=settings.submit_timeout_seconds).as_dict()
