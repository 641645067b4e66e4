"""Each model lever on and off, on the hard evaluation set: the ablation table of docs/evaluation.

    python -m cli.bench.ablation --data DIR [--variants all,-min_df,...] [--splits random,unseen]
                                 [--json FILE] [--report FILE.md]

DIR holds labeled CSV files (``python -m cli.bench.hard_sets --out DIR`` writes the hard suite).
Every file is cross-validated (``manna evaluate``'s folds, 5 each) once per variant and split, and
the table gives the mean over files of accuracy, macro-F1, ECE and coverage at 95% accuracy. The
variants take one lever away from the full model at a time; ``legacy`` is the model before
issue 15 (min_df 2, amount buckets only, no brands). The baseline (smart_importer's word counts + linear
SVC) runs on the same folds. A change under about 0.01 is within the noise of 2,000-row files.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.evaluate import Predictions, cross_validate, metrics
from pipeline.features import LEGACY_CONFIG, FeatureConfig
from pipeline.offline import read_labeled

FIGURES = ("accuracy", "macro_f1", "ece", "coverage_at_95")


@dataclass(frozen=True)
class Variant:
    """One column of levers: the features and whether the temperature is fitted."""

    name: str
    what: str
    config: FeatureConfig = field(default_factory=FeatureConfig)
    calibrate: bool = True


FULL = FeatureConfig()
VARIANTS: tuple[Variant, ...] = (
    Variant("full", "every lever on (the shipped default)"),
    Variant("-min_df", "n-grams seen once dropped (min_df 2)", replace(FULL, min_df=2)),
    Variant("-log_amount", "amount as buckets only", replace(FULL, log_amount=False)),
    Variant("-lexicon", "no word groups", replace(FULL, lexicon=False)),
    Variant("-brands", "no brand kinds", replace(FULL, brands=False)),
    Variant("-temperature", "temperature 1 (no calibration on held-out merchants)", calibrate=False),
    Variant("legacy", "the model before issue 15: min_df 2, buckets only, no brands", LEGACY_CONFIG),
)


def run(files: list[Path], variants: list[Variant], splits: list[str],
        progress: Callable[[str], None] = print) -> dict[str, Any]:
    """Per file, split and variant, the figures; and their means over files."""
    per_file: dict[str, Any] = {}
    for path in files:
        data = read_labeled(path)
        per_file[path.name] = result = {"rows": len(data.labels), "classes": len(set(data.labels))}
        for split in splits:
            for number, variant in enumerate(variants):
                started = time.perf_counter()
                ours, base = cross_validate(data, split, config=variant.config, calibrate=variant.calibrate,
                                            baseline=number == 0)
                result[f"{split}/{variant.name}"] = _figures(ours)
                if number == 0:
                    result[f"{split}/baseline"] = _figures(base, calibrated=False)
                accuracy = result[f"{split}/{variant.name}"]["accuracy"]
                progress(f"{path.name} {split} {variant.name}: accuracy {accuracy:.3f} "
                         f"({time.perf_counter() - started:.0f} s)")
    columns = [f"{s}/{v.name}" for s in splits for v in variants] + [f"{s}/baseline" for s in splits]
    means = {c: {f: round(float(np.mean([r[c][f] for r in per_file.values() if f in r[c]])), 4)
                 for f in FIGURES if any(f in r[c] for r in per_file.values())} for c in columns}
    return {"files": per_file, "mean": means, "variants": {v.name: v.what for v in variants}}


def _figures(p: Predictions, calibrated: bool = True) -> dict[str, float]:
    found = metrics(p, calibrated=calibrated)
    return {f: round(float(found[f]), 4) for f in FIGURES if f in found}


def table(result: dict[str, Any], splits: list[str]) -> str:
    """The markdown ablation table: one row per variant, each figure per split."""
    names = [*result["variants"], "baseline"]
    head = "| variant | " + " | ".join(f"{f.replace('_', ' ')} {s}" for f in FIGURES for s in splits) + " |"
    lines = [head, "|" + "---|" * (1 + len(FIGURES) * len(splits))]
    for name in names:
        cells = [_cell(result["mean"].get(f"{s}/{name}", {}).get(f)) for f in FIGURES for s in splits]
        what = result["variants"].get(name, "smart_importer: word 1-3 counts + linear SVC (no probabilities)")
        lines.append(f"| `{name}`: {what} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cell(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="Directory of labeled CSV files.")
    parser.add_argument("--variants", default="all", help="Comma-separated names, or all: "
                        + ", ".join(v.name for v in VARIANTS))
    parser.add_argument("--splits", default="random,unseen")
    parser.add_argument("--json", type=Path, help="Write the figures as JSON here.")
    parser.add_argument("--report", type=Path, help="Write the markdown table here.")
    args = parser.parse_args()
    files = sorted(args.data.glob("*.csv"))
    if not files:
        parser.error(f"no .csv files in {args.data}")
    wanted = [v.name for v in VARIANTS] if args.variants == "all" else args.variants.split(",")
    unknown = set(wanted) - {v.name for v in VARIANTS}
    if unknown:
        parser.error(f"unknown variant(s) {', '.join(sorted(unknown))}")
    splits = args.splits.split(",")
    result = run(files, [v for v in VARIANTS if v.name in wanted], splits)
    text = table(result, splits)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
