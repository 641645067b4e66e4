"""A/B variant assignment: deterministic from the task id and the experiment's split."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

VARIANTS = ("A", "B")
# The seed document's names too: the "standard" service is the active model, "optimized" the candidate.
_FORCE_ALIASES = {"a": "A", "active": "A", "standard": "A", "b": "B", "candidate": "B", "optimized": "B"}
BUCKETS = 10_000  # a share can be given to a hundredth of a percent


@dataclass(frozen=True, slots=True)
class Experiment:
    """Which model serves each variant, and the candidate's share of tasks in percent."""

    active_version: str | None
    candidate_version: str | None = None
    candidate_percent: float = 0.0
    enabled: bool = True


def parse_forced_variant(value: str | None) -> str | None:
    """Normalize ``force_variant`` (A/B/active/candidate); raises ValueError on anything else."""
    if value is None:
        return None
    try:
        return _FORCE_ALIASES[value.strip().lower()]
    except KeyError:
        raise ValueError(f"force_variant must be A, B, active, candidate, standard or optimized, not {value!r}"
                         ) from None


def assign_variant(task_id: str, experiment: Experiment, forced: str | None = None) -> str:
    """A or B for this task: a forced variant wins, else a stable hash bucket of the task id."""
    if forced is not None:
        return forced
    if not experiment.enabled or not experiment.candidate_version or experiment.candidate_percent <= 0:
        return "A"
    bucket = int.from_bytes(hashlib.sha256(task_id.encode()).digest()[:8], "big") % BUCKETS
    return "B" if bucket < experiment.candidate_percent * BUCKETS / 100 else "A"


def version_for(variant: str, experiment: Experiment) -> str | None:
    """The model version that serves a variant (B falls back to A without a candidate)."""
    if variant == "B" and experiment.candidate_version:
        return experiment.candidate_version
    return experiment.active_version
