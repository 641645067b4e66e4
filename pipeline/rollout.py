"""Rollout policy, pure: phases, promotion criteria and rollback triggers (``data/rollout/*.yaml``),
and the one decision a rollout controller takes from measured figures: hold, advance, complete or
roll back. The controller (``services/``) measures; this module only judges.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.yamlio import load_yaml

POLICIES = Path(__file__).parent / "data" / "rollout"
ACTIONS = ("hold", "advance", "complete", "rollback")


@dataclass(frozen=True, slots=True)
class Trigger:
    """Roll back when the candidate's figure is above ``above`` over the last ``for_minutes``."""

    above: float
    for_minutes: float = 0.0


@dataclass(frozen=True, slots=True)
class Policy:
    phases: tuple[float, ...]
    min_predictions: int
    max_error_rate_difference: float
    min_p95_improvement: float
    max_accuracy_drop: float
    min_reviews: int
    rollback: dict[str, Trigger]


@dataclass(frozen=True, slots=True)
class Figures:
    """One variant's figures over a span: transactions labeled, error rate, per-transaction P95, accuracy."""

    predictions: int = 0
    error_rate: float | None = None
    p95_ms: float | None = None
    accuracy: float | None = None
    cache_error_share: float | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    action: str
    reason: str


def load_policy(name_or_path: str | Path = "seed") -> Policy:
    """A policy by name (``seed``, ``retrain``) or from a YAML file; unknown keys are an error."""
    path = POLICIES / f"{name_or_path}.yaml" if str(name_or_path) in ("seed", "retrain") else Path(name_or_path)
    if not path.is_file():
        raise ValueError(f"no rollout policy {name_or_path!r}: give seed, retrain or a YAML file")
    data: dict[str, Any] = load_yaml(path.read_text(encoding="utf-8")) or {}
    try:
        phases = tuple(float(p) for p in data["phases"])
        promote, rollback = dict(data["promote"]), dict(data["rollback"])
        policy = Policy(phases, int(promote.pop("min_predictions")), float(promote.pop("max_error_rate_difference")),
                        float(promote.pop("min_p95_improvement")), float(promote.pop("max_accuracy_drop")),
                        int(promote.pop("min_reviews")),
                        {name: Trigger(float(t["above"]), float(t.get("for_minutes", 0)))
                         for name, t in rollback.items()})
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{path.name}: not a rollout policy ({err})") from None
    unknown = set(promote) | (set(rollback) - {"p95_ms", "error_rate", "accuracy_drop", "cache_errors"})
    if unknown:
        raise ValueError(f"{path.name}: unknown setting(s) {', '.join(sorted(unknown))}")
    if not phases or list(phases) != sorted(phases) or phases[0] <= 0 or phases[-1] != 100:
        raise ValueError(f"{path.name}: phases must rise to 100, e.g. [10, 25, 50, 75, 100]")
    return policy


def decide(policy: Policy, phase: int, active: Figures, candidate: Figures,
           windows: dict[str, Figures]) -> Verdict:
    """The step for phase index ``phase``: ``active``/``candidate`` are measured since the phase began;
    ``windows`` holds the candidate's figures over each rollback trigger's window, by trigger name."""
    fired = _rollback_reason(policy, active, candidate, windows)
    if fired:
        return Verdict("rollback", fired)
    unmet = _unmet(policy, active, candidate, alone=policy.phases[phase] >= 100)
    if unmet:
        return Verdict("hold", "; ".join(unmet))
    last = phase >= len(policy.phases) - 1
    return Verdict("complete" if last else "advance", "every promotion criterion holds")


def _rollback_reason(policy: Policy, active: Figures, candidate: Figures, windows: dict[str, Figures]) -> str:
    reasons = []
    for name, trigger in policy.rollback.items():
        if name == "accuracy_drop":
            if active.accuracy is not None and candidate.accuracy is not None and \
                    active.accuracy - candidate.accuracy > trigger.above:
                reasons.append(f"accuracy {candidate.accuracy:.3f} is more than {trigger.above:.0%} below the "
                               f"active model's {active.accuracy:.3f}")
            continue
        value = {"p95_ms": windows.get(name, Figures()).p95_ms, "error_rate": windows.get(name, Figures()).error_rate,
                 "cache_errors": windows.get(name, Figures()).cache_error_share}[name]
        if value is not None and value > trigger.above:
            reasons.append(f"{name} {value:.4g} above {trigger.above:g} over the last {trigger.for_minutes:g} min")
    return "; ".join(reasons)


def _unmet(policy: Policy, active: Figures, candidate: Figures, *, alone: bool) -> list[str]:
    """Promotion criteria not met. ``alone``: at 100% the active model serves nothing, so the candidate is
    judged on its own figures (its rollback triggers still compare its accuracy with the baseline)."""
    unmet = []
    fewest = candidate.predictions if alone else min(active.predictions, candidate.predictions)
    if fewest < policy.min_predictions:
        unmet.append(f"{fewest:,} of {policy.min_predictions:,} predictions per variant")
    if active.accuracy is not None and candidate.accuracy is not None and \
            candidate.accuracy < active.accuracy - policy.max_accuracy_drop:
        unmet.append(f"accuracy {candidate.accuracy:.3f} below the active model's {active.accuracy:.3f}")
    if alone:
        return unmet
    if active.error_rate is not None and candidate.error_rate is not None and \
            abs(candidate.error_rate - active.error_rate) >= policy.max_error_rate_difference:
        unmet.append(f"error rates differ by {abs(candidate.error_rate - active.error_rate):.2%}")
    if active.p95_ms and candidate.p95_ms is not None:
        improvement = (active.p95_ms - candidate.p95_ms) / active.p95_ms
        if improvement < policy.min_p95_improvement:
            unmet.append(f"P95 {candidate.p95_ms:.1f} ms vs {active.p95_ms:.1f} ms ({improvement:+.0%}, needs "
                         f"{policy.min_p95_improvement:+.0%})")
    elif fewest >= policy.min_predictions:
        unmet.append("no P95 measured")
    return unmet
