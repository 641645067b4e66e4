"""Retraining policy, pure: which reviews are held out to judge a candidate, and when it is not worse.

A candidate is judged against the active model on two sets: reviews it did not learn from (held
out by merchant, so a merchant is either taught or judged, never both), and the standard
evaluation set of the active model's training data. It may serve only if it loses no more than
the tolerance on either.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pipeline.categorize import Categorizer
from pipeline.schema import Transaction


@dataclass(frozen=True)
class Examples:
    """Labeled lines: what a model trains on or is judged by."""

    descriptions: list[str]
    amounts: list[float]
    labels: list[str]

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, keep: Sequence[bool]) -> Examples:
        """The examples where ``keep`` is true."""
        rows = [i for i, kept in enumerate(keep) if kept]
        return Examples([self.descriptions[i] for i in rows], [self.amounts[i] for i in rows],
                        [self.labels[i] for i in rows])


def held_out(merchant_keys: Sequence[str], share: float, salt: str) -> list[bool]:
    """True for the reviews kept out of training: whole merchants, about ``share`` of them, by a salted hash.

    The salt (the run's id) changes the split from run to run, so no merchant is always left out.
    """
    def bucket(key: str) -> float:
        return int.from_bytes(hashlib.sha256(f"{salt}|{key}".encode()).digest()[:8], "big") / 2**64

    return [bucket(key) < share for key in merchant_keys]


def accuracy(categorizer: Categorizer, examples: Examples) -> float | None:
    """Share of examples the categorizer (rules and model, no cache, no memory) labels as given."""
    if not len(examples):
        return None
    transactions = [Transaction(str(i), d, Decimal(str(a)), "XXX")
                    for i, (d, a) in enumerate(zip(examples.descriptions, examples.amounts, strict=True))]
    decisions = categorizer.categorize(transactions).decisions
    return round(sum(d.category == label for d, label in zip(decisions, examples.labels, strict=True))
                 / len(examples), 4)


def judge(figures: dict[str, dict[str, Any]], tolerance: float) -> tuple[bool, str]:
    """Not worse on every judged set? Returns the verdict and the reason, naming the figures."""
    verdicts = []
    for name, figure in figures.items():
        if not figure.get("judged"):
            continue
        active, candidate = figure["active"], figure["candidate"]
        worse = candidate < active - tolerance
        verdicts.append((worse, f"{name}: candidate {candidate:.4f} vs active {active:.4f}"))
    if not verdicts:
        return False, "nothing to judge the candidate on"
    failed = [text for worse, text in verdicts if worse]
    if failed:
        return False, f"worse than the active model by more than {tolerance:.4f}: " + "; ".join(failed)
    return True, "not worse: " + "; ".join(text for _, text in verdicts)
