"""Render an evaluation as PNG charts and a Markdown summary.

Charts: reliability, error rate against coverage, the most confused (true, predicted) pairs with their
counts, and a confusion count matrix of the categories in those pairs. Axes start at 0 in plain units;
titles carry the split and the size.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no screen
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from pipeline.evaluate import Predictions, coverage_curve, reliability

TOP_PAIRS = 15
MATRIX_CATEGORIES = 12


@dataclass(frozen=True)
class ConfusedPair:
    """Rows of category ``true`` predicted as ``predicted``; ``support`` is how many rows ``true`` has."""

    true: str
    predicted: str
    count: int
    support: int

    @property
    def share(self) -> float:
        """Share of the true category's rows that went to ``predicted``."""
        return self.count / self.support


def write_report(directory: Path, result: dict[str, Any], ours: Predictions, baseline: Predictions,
                 command: str) -> None:
    """reliability.png, coverage.png, confused_pairs.png, confusion.png and summary.md in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    pairs = confused_pairs(ours.truth, ours.predicted, TOP_PAIRS)
    wrong = error_count(ours.truth, ours.predicted)
    title = describe(result)
    figures = {"reliability.png": reliability_figure(ours, title),
               "coverage.png": coverage_figure(ours, baseline, title),
               "confused_pairs.png": pairs_figure(pairs, wrong, title),
               "confusion.png": confusion_figure(ours, pairs, title)}
    for name, fig in figures.items():
        fig.savefig(directory / name, dpi=110)
        plt.close(fig)
    (directory / "summary.md").write_text(_summary(result, command, pairs, wrong), encoding="utf-8")


# Pure helpers.

def confused_pairs(truth: Sequence[str], predicted: Sequence[str], top: int = TOP_PAIRS) -> list[ConfusedPair]:
    """The ``top`` most frequent (true, predicted) pairs among wrong rows: most rows first, then larger share."""
    support = Counter(str(t) for t in truth)
    wrong = Counter((str(t), str(p)) for t, p in zip(truth, predicted, strict=True) if t != p)
    pairs = [ConfusedPair(t, p, n, support[t]) for (t, p), n in wrong.items()]
    return sorted(pairs, key=lambda c: (-c.count, -c.share, c.true, c.predicted))[:top]


def error_count(truth: Sequence[str], predicted: Sequence[str]) -> int:
    """Rows whose prediction is not the truth."""
    return sum(t != p for t, p in zip(truth, predicted, strict=True))


def matrix_categories(pairs: Sequence[ConfusedPair], limit: int = MATRIX_CATEGORIES) -> list[str]:
    """Categories of the confusion matrix: those of the top pairs, in order of first appearance."""
    seen: dict[str, None] = {}
    for pair in pairs:
        for category in (pair.true, pair.predicted):
            if len(seen) < limit:
                seen.setdefault(category)
    return list(seen)


def count_matrix(truth: Sequence[str], predicted: Sequence[str], categories: Sequence[str]) -> np.ndarray:
    """Counts of true ``categories`` (rows) by predicted category (columns), a last column for all others."""
    column = {c: i for i, c in enumerate(categories)}
    matrix = np.zeros((len(categories), len(categories) + 1), dtype=int)
    for t, p in zip(truth, predicted, strict=True):
        if t in column:
            matrix[column[t], column.get(p, len(categories))] += 1
    return matrix


def describe(result: dict[str, Any]) -> str:
    """The split and the size, for chart titles."""
    return f"split {result['split']}, {result['rows']:,} rows, {result['categories']} categories, {_folds(result)}"


# Charts.

def reliability_figure(p: Predictions, title: str) -> Figure:
    """Accuracy against mean confidence per confidence bin; point area follows the rows in the bin."""
    points = reliability(p)
    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    ax.scatter([c for c, _, _ in points], [a for _, a, _ in points], s=[max(8, n ** 0.5 * 3) for *_, n in points],
               label="confidence bins (area ~ rows)")
    ax.set(xlabel="mean confidence of the bin", ylabel="accuracy of the bin", xlim=(0, 1), ylim=(0, 1))
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.grid(alpha=0.3)
    ax.set_title(f"Reliability (Manna)\n{title}", fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def coverage_figure(ours: Predictions, baseline: Predictions, title: str) -> Figure:
    """Error rate of the rows kept when only the most confident share is kept, from 0."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    highest = 0.05
    for name, p in (("Manna", ours), ("baseline (word counts + SVC)", baseline)):
        curve = coverage_curve(p)
        errors = [1 - a for _, a in curve]
        highest = max(highest, *errors)
        ax.plot([c for c, _ in curve], errors, lw=2, label=name)
    ax.axhline(0.05, ls="--", color="grey", lw=1, label="5% error (95% accuracy)")
    ax.set(xlabel="coverage: most confident share of rows kept", ylabel="error rate of the rows kept",
           xlim=(0, 1), ylim=(0, highest * 1.1))
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
    ax.grid(alpha=0.3)
    ax.set_title(f"Error rate against coverage\n{title}", fontsize=10)
    ax.legend(loc="center left", fontsize=8)
    fig.tight_layout()
    return fig


def pairs_figure(pairs: Sequence[ConfusedPair], wrong: int, title: str) -> Figure:
    """Horizontal bars of the most confused pairs, the count and share written on each bar."""
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.36 * max(len(pairs), 3)))
    names = [f"{c.true} \u2192 {c.predicted}" for c in pairs]
    counts = [c.count for c in pairs]
    ax.barh(range(len(pairs)), counts, color="tab:red", alpha=0.8)
    for y, pair in enumerate(pairs):
        ax.text(pair.count, y, f" {pair.count:,} of {pair.support:,} ({pair.share:.0%})", va="center", fontsize=8)
    ax.set_yticks(range(len(pairs)), names, fontsize=8)
    ax.invert_yaxis()  # the most confused pair on top
    ax.set_xlim(0, max(counts, default=1) * 1.3)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("rows of the true category predicted as the other (count)")
    ax.grid(axis="x", alpha=0.3)
    if not pairs:
        ax.text(0.5, 0.5, "no wrong predictions", transform=ax.transAxes, ha="center")
    shown = sum(counts)
    ax.set_title(f"Most confused pairs (Manna): top {len(pairs)}, {shown:,} of {wrong:,} wrong rows\n{title}",
                 fontsize=10)
    fig.tight_layout()
    return fig


def confusion_figure(p: Predictions, pairs: Sequence[ConfusedPair], title: str) -> Figure:
    """Count matrix of the categories in the top pairs: errors coloured and counted, the diagonal in grey."""
    categories = matrix_categories(pairs)
    if not categories:  # no errors: show the most frequent categories
        labels, counts = np.unique(np.asarray(p.truth, dtype=str), return_counts=True)
        categories = [str(c) for c in labels[np.argsort(-counts)][:MATRIX_CATEGORIES]]
    matrix = count_matrix(p.truth, p.predicted, categories)
    errors = matrix.astype(float)
    diagonal = np.arange(len(categories))
    errors[diagonal, diagonal] = 0
    size = len(categories)
    fig, ax = plt.subplots(figsize=(1.6 + 0.62 * (size + 1), 1.8 + 0.5 * size))
    ax.imshow(np.where(errors > 0, errors, np.nan), cmap="Reds", vmin=0, vmax=max(errors.max(), 1))
    for row in range(size):
        for col in range(size + 1):
            value = matrix[row, col]
            if row == col:
                ax.text(col, row, f"{value:,}", ha="center", va="center", fontsize=7, color="grey")
            elif value:
                dark = errors[row, col] > errors.max() * 0.6
                ax.text(col, row, f"{value:,}", ha="center", va="center", fontsize=8, fontweight="bold",
                        color="white" if dark else "black")
    ax.set_xticks(range(size + 1), [*categories, "(all others)"], rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(size), categories, fontsize=7)
    ax.set(xlabel="predicted", ylabel="true")
    ax.set_title(f"Confusion counts among the categories of the most confused pairs (grey: correct, red: wrong)"
                 f"\n{title}", fontsize=9)
    fig.tight_layout()
    return fig


def _pairs_table(pairs: Sequence[ConfusedPair], wrong: int) -> str:
    if not pairs:
        return "No wrong predictions."
    rows = "\n".join(f"| {c.true} | {c.predicted} | {c.count:,} | {c.share:.1%} of {c.support:,} |" for c in pairs)
    return (f"Most confused pairs (Manna): the top {len(pairs)} hold {sum(c.count for c in pairs):,} of the "
            f"{wrong:,} wrong rows.\n\n| true | predicted as | count | share of the true category |\n"
            f"|---|---|---|---|\n{rows}")


def _folds(result: dict[str, Any]) -> str:
    folds, repeats = result.get("folds", 5), result.get("repeats", 1)
    return f"{folds} folds" + (f", {repeats} fold seeds pooled" if repeats > 1 else "")


def _summary(result: dict[str, Any], command: str, pairs: Sequence[ConfusedPair], wrong: int) -> str:
    ours, base = result["ours"], result["baseline"]
    rows = [("accuracy", "accuracy"), ("macro-F1", "macro_f1"), ("accuracy of the most confident 75%",
            "accuracy_top75"), ("coverage at 95% accuracy", "coverage_at_95"), ("ECE (15 bins)", "ece"),
            ("ECE by chance alone (a perfectly calibrated model, these rows)", "ece_by_chance")]
    table = "\n".join(f"| {name} | {ours[key]:.3f} | {base[key]:.3f} |" if key in base else
                      f"| {name} | {ours[key]:.3f} | n/a (no probabilities) |" for name, key in rows)
    if "ece_spread" in ours:
        table += f"\n| ECE's standard deviation over resampled merchants | {ours['ece_spread']:.3f} | n/a |"
    worst = sorted(ours["per_category"].items(), key=lambda kv: kv[1]["recall"])[:10]
    worst_rows = "\n".join(f"| {c} | {m['precision']:.2f} | {m['recall']:.2f} | {m['support']} |" for c, m in worst)
    return f"""# Evaluation: {result['data']}, split `{result['split']}`

Made by: `{command}`

{result['rows']:,} rows, {result['categories']} categories, {_folds(result)}. Manna = rules + model, as
`manna predict` runs them; baseline = word 1-3-gram counts + linear SVC (beancount's smart_importer).

| figure | Manna | baseline |
|---|---|---|
{table}

Decided by (Manna): {', '.join(f'{k} {v:,}' for k, v in ours.get('decided_by', {}).items())}

{_pairs_table(pairs, wrong)}

![most confused pairs](confused_pairs.png)

![reliability](reliability.png) ![error rate against coverage](coverage.png)

Confusion counts among the categories of those pairs (the last column gathers every other category):

![confusion](confusion.png)

Lowest-recall categories:

| category | precision | recall | support |
|---|---|---|---|
{worst_rows}
"""
