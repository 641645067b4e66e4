"""The review queue's words and its measure: why a merchant is listed, and how well the queue ranks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def why_listed(entry: Mapping[str, Any], abstain_threshold: float) -> str:
    """A reviewer-facing reason: how many labels a correction reaches and how unsure they are."""
    labels = int(entry["labels"])
    parts = [f"{labels:,} unreviewed label{'s' if labels != 1 else ''} of this merchant",
             f"mean confidence {entry['mean_confidence']:.2f}",
             f"about {entry['expected_errors']:.1f} expected wrong"]
    if entry["mixed"]:
        parts.append("labeled more than one way")
    if entry["confidence"] < abstain_threshold:
        parts.append("this one needs review")
    return "; ".join(parts)


def ranking_quality(queue: Sequence[Mapping[str, Any]], labels: Mapping[str, str], truth: Mapping[str, str]
                    ) -> dict[str, Any]:
    """Error rate of the queue's shown labels against the error rate of all labels, on known categories.

    ``labels`` and ``truth`` map transaction id -> category; ids without a true category are skipped.
    """
    shown = [entry for entry in queue if entry["transaction_id"] in truth]
    known = [tid for tid in labels if tid in truth]
    top_wrong = sum(entry["category"] != truth[entry["transaction_id"]] for entry in shown)
    all_wrong = sum(labels[tid] != truth[tid] for tid in known)
    top_rate = top_wrong / len(shown) if shown else None
    overall_rate = all_wrong / len(known) if known else None
    ratio = round(top_rate / overall_rate, 2) if top_rate is not None and overall_rate else None
    return {"queue_entries": len(queue), "queue_known": len(shown), "queue_wrong": top_wrong,
            "queue_error_rate": top_rate, "labels": len(known), "labels_wrong": all_wrong,
            "overall_error_rate": overall_rate, "ratio": ratio}
