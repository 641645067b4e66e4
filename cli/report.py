"""Render an evaluation as PNG charts and a Markdown summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no screen
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import confusion_matrix

from pipeline.evaluate import Predictions, coverage_curve, reliability

TOP_CATEGORIES = 15


def write_report(directory: Path, result: dict[str, Any], ours: Predictions, baseline: Predictions,
                 command: str) -> None:
    """reliability.png, confusion.png, coverage.png and summary.md in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    _reliability(directory / "reliability.png", ours)
    _confusion(directory / "confusion.png", ours)
    _coverage(directory / "coverage.png", ours, baseline)
    (directory / "summary.md").write_text(_summary(result, command), encoding="utf-8")


def _reliability(path: Path, p: Predictions) -> None:
    points = reliability(p)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    ax.scatter([c for c, _, _ in points], [a for _, a, _ in points], s=[max(8, n ** 0.5 * 3) for *_, n in points],
               label="bins (area ~ rows)")
    ax.set(xlabel="mean confidence", ylabel="accuracy", title="Reliability", xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _confusion(path: Path, p: Predictions) -> None:
    labels, counts = np.unique(p.truth, return_counts=True)
    top = labels[np.argsort(-counts)][:TOP_CATEGORIES]
    mask = np.isin(p.truth, top)
    matrix = confusion_matrix(p.truth[mask], p.predicted[mask], labels=top, normalize="true")
    fig, ax = plt.subplots(figsize=(9, 8))
    image = ax.imshow(matrix, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(top)), top, rotation=70, ha="right", fontsize=7)
    ax.set_yticks(range(len(top)), top, fontsize=7)
    ax.set(xlabel="predicted", ylabel="true", title=f"Confusion, {len(top)} most frequent categories (row-normalized)")
    fig.colorbar(image, ax=ax, fraction=0.04)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _coverage(path: Path, ours: Predictions, baseline: Predictions) -> None:
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name, p in (("Manna", ours), ("baseline (word counts + SVC)", baseline)):
        curve = coverage_curve(p)
        ax.plot([c for c, _ in curve], [a for _, a in curve], label=name)
    ax.axhline(0.95, ls="--", color="grey", lw=1)
    ax.set(xlabel="coverage (most confident share kept)", ylabel="accuracy", title="Accuracy vs coverage",
           xlim=(0, 1))
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _summary(result: dict[str, Any], command: str) -> str:
    ours, base = result["ours"], result["baseline"]
    rows = [("accuracy", "accuracy"), ("macro-F1", "macro_f1"), ("accuracy of the most confident 75%",
            "accuracy_top75"), ("coverage at 95% accuracy", "coverage_at_95"), ("ECE (15 bins)", "ece")]
    table = "\n".join(f"| {name} | {ours[key]:.3f} | {base[key]:.3f} |" if key in base else
                      f"| {name} | {ours[key]:.3f} | n/a (no probabilities) |" for name, key in rows)
    worst = sorted(ours["per_category"].items(), key=lambda kv: kv[1]["recall"])[:10]
    worst_rows = "\n".join(f"| {c} | {m['precision']:.2f} | {m['recall']:.2f} | {m['support']} |" for c, m in worst)
    return f"""# Evaluation: {result['data']}, split `{result['split']}`

Made by: `{command}`

{result['rows']:,} rows, {result['categories']} categories, 5 folds. Manna = rules + model, as
`manna predict` runs them; baseline = word 1-3-gram counts + linear SVC (beancount's smart_importer).

| figure | Manna | baseline |
|---|---|---|
{table}

Decided by (Manna): {', '.join(f'{k} {v:,}' for k, v in ours.get('decided_by', {}).items())}

![reliability](reliability.png) ![coverage](coverage.png)

![confusion](confusion.png)

Lowest-recall categories:

| category | precision | recall | support |
|---|---|---|---|
{worst_rows}
"""
