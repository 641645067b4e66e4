"""A job as its submitter sees it: what was accepted, what was rejected and why, and waiting for it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from db.engine import session_scope
from db.jobs import job_summary
from db.queries import rejection_reasons
from pipeline.settings import Settings

TOP_REASONS = 5


@dataclass(frozen=True)
class Outcome:
    """A job's counts; ``reasons`` holds the most frequent rejection reasons with their rows."""

    job_id: str
    status: str
    received: int
    accepted: int
    rejected: int
    labeled: int
    reasons: dict[str, int]

    @property
    def accepted_share(self) -> float:
        return self.accepted / self.received if self.received else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "status": self.status, "received": self.received, "accepted": self.accepted,
                "rejected": self.rejected, "labeled": self.labeled, "top_reasons": self.reasons}


class JobStalled(TimeoutError):
    """The job made no progress for the whole timeout; ``seen`` is the last outcome (None: no row yet)."""

    def __init__(self, job_id: str, seconds: float, seen: Outcome | None) -> None:
        super().__init__(f"job {job_id}: no progress for {seconds:g} s")
        self.seen = seen


def job_outcome(settings: Settings, job_id: str) -> Outcome | None:
    """The job's counts and top rejection reasons, or None when no message of it has arrived."""
    with session_scope(settings.effective_database_url) as session:
        job = job_summary(session, job_id)
        if job is None:
            return None
        reasons = dict(rejection_reasons(session, job_id)[:TOP_REASONS]) if job["rejected"] else {}
    return Outcome(job_id, job["status"], job["received"], job["received"] - job["rejected"], job["rejected"],
                   job["labeled"], reasons)


def wait_for_job(settings: Settings, job_id: str, expected_rows: int, *, timeout: float,
                 progress: Callable[[Outcome], None] = lambda _: None, poll_seconds: float = 0.2) -> Outcome:
    """Block until every sent row is received and the job finished; raise JobStalled after ``timeout``
    seconds without progress (a big job that moves is never cut short)."""
    last_change, last_seen = time.monotonic(), None
    while True:
        outcome = job_outcome(settings, job_id)
        if outcome is not None:
            progress(outcome)
            if outcome.received >= expected_rows and outcome.status == "finished":
                return outcome
        marker = None if outcome is None else (outcome.received, outcome.labeled, outcome.rejected, outcome.status)
        if marker != last_seen:
            last_change, last_seen = time.monotonic(), marker
        elif time.monotonic() - last_change > timeout:
            raise JobStalled(job_id, timeout, outcome)
        time.sleep(poll_seconds)
