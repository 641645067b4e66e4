"""How the ECE moves with the temperature: each fold's fitted temperature times k, per split.

    python -m cli.bench.temperature_scan --data DIR [--scales 0.8,0.9,1,1.1,1.25] [--json FILE]

DIR holds labeled CSV files (``python -m cli.bench.hard_sets --out DIR`` writes the hard suite).
Each file is cross-validated once per split on ``manna evaluate``'s folds (fold seed 0): random,
unseen by true merchant (the file's ``merchant`` column) and unseen by merchant key (that column
dropped, as on a real export). Every fold's model then decides its held-out rows once per scale,
through the same rules and categorizer as ``manna evaluate``, so the column ``k = 1`` is the ECE
``manna evaluate`` reports. A file's best scale says which way the fitted temperature misses it.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from pipeline.categorize import Categorizer
from pipeline.evaluate import fold_model, folds, held_out_rows
from pipeline.features import FeatureConfig
from pipeline.model import expected_calibration_error
from pipeline.offline import LabeledData, read_labeled, rules_for

SPLITS = ("random", "unseen, true merchant", "unseen, merchant key")
SCALES = (0.8, 0.9, 1.0, 1.1, 1.25)


def scan(data: LabeledData, split: str, scales: Sequence[float]) -> dict[float, float]:
    """ECE of the out-of-fold decisions at each scale of every fold's fitted temperature."""
    if split == "unseen, merchant key":
        data = replace(data, merchants=[])
    config = FeatureConfig(country=data.country)
    rules = rules_for(set(data.labels), None)
    confidence = {k: np.zeros(len(data.labels)) for k in scales}
    correct = {k: np.zeros(len(data.labels)) for k in scales}
    for train, test in folds(data, "random" if split == "random" else "unseen"):
        model = fold_model(data, train, config)
        rows = held_out_rows(data, test)
        truth = np.asarray([data.labels[i] for i in test])
        for k in scales:
            scaled = replace(model, temperature=model.temperature * k)
            decisions = Categorizer(rules, scaled).categorize(rows).decisions
            confidence[k][test] = [d.confidence for d in decisions]
            correct[k][test] = np.asarray([d.category for d in decisions]) == truth
    return {k: round(expected_calibration_error(confidence[k], correct[k]), 4) for k in scales}


def run(files: Sequence[Path], scales: Sequence[float],
        progress: Callable[[str], None] = print) -> dict[str, dict[str, dict[float, float]]]:
    """Per split and file, the ECE at each scale."""
    result: dict[str, dict[str, dict[float, float]]] = {split: {} for split in SPLITS}
    for path in files:
        data = read_labeled(path)
        for split in SPLITS:
            result[split][path.name] = found = scan(data, split, scales)
            progress(f"{path.name} {split}: " + "  ".join(f"k {k:g}: {ece:.3f}" for k, ece in found.items()))
    return result


def table(result: dict[str, dict[str, dict[float, float]]], scales: Sequence[float]) -> str:
    """Mean ECE over the files per split and scale, and the mean of each file's best."""
    head = "| split | " + " | ".join(f"k = {k:g}" for k in scales) + " | the best k of each file |"
    lines = [head, "|" + "---|" * (len(scales) + 2)]
    for split, files in result.items():
        means = [np.mean([found[k] for found in files.values()]) for k in scales]
        best = np.mean([min(found.values()) for found in files.values()])
        lines.append(f"| {split} | " + " | ".join(f"{m:.3f}" for m in means) + f" | {best:.3f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="Directory of labeled CSV files.")
    parser.add_argument("--scales", default=",".join(f"{k:g}" for k in SCALES),
                        help="Comma-separated multiples of the fitted temperature.")
    parser.add_argument("--json", type=Path, help="Write the figures as JSON here.")
    args = parser.parse_args()
    files = sorted(args.data.glob("*.csv"))
    if not files:
        parser.error(f"no .csv files in {args.data}")
    try:
        scales = [float(k) for k in args.scales.split(",")]
    except ValueError:
        parser.error(f"--scales {args.scales!r}: give numbers separated by commas, such as 0.9,1,1.1")
    if any(k <= 0 for k in scales):
        parser.error("--scales: every scale must be above 0")
    result = run(files, scales)
    print(table(result, scales))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
