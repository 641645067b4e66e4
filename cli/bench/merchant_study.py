"""Accuracy and hit rates of the result cache with and without its merchant layer, on labeled streams.

    python -m cli.bench.merchant_study [--n 300000] [--json FILE]

No servers: the real categorizer over an in-process cache, in chunks of the configured size, on a
labeled stream of the bench stream's shape (the same generator seed, skewed popularity, 30 days).
Each set runs twice with the same model, layer off then on, and is compared label by label:

- ``generated``: the default model's recipe (20,000 generated lines, seed 0) on the stream;
- ``unseen merchants``: a model trained without a fifth of the merchants, on the same stream
  (the figure in brackets is over those merchants' lines only);
- ``lower-cased, truncated``: the default model on the stream with half the lines lower-cased and
  half cut to 10-18 characters (as some banks print them), which also shortens merchant keys.
"""

from __future__ import annotations

import argparse
import json
import time
import zlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.cache import MemoryCache
from pipeline.categorize import Categorizer, ChunkReport
from pipeline.features import FeatureConfig
from pipeline.generate import GENERATED_COUNTRY, Generator
from pipeline.model import CategoryModel, train_model
from pipeline.normalize import feature_text, merchant_key
from pipeline.rules import RuleSet
from pipeline.schema import Transaction
from pipeline.settings import get_settings

TRAIN_ROWS, TRAIN_SEED, STREAM_SEED = 20_000, 0, 7  # the default model's recipe; the bench stream's seed
HELD_OUT_SHARE = 5  # one merchant in five is left out of the "unseen merchants" model


def held_out(merchant: str) -> bool:
    """The merchants the ``unseen merchants`` model never sees (stable across runs)."""
    return zlib.crc32(merchant.encode()) % HELD_OUT_SHARE == 0


def fit(rows: list[dict[str, Any]]) -> CategoryModel:
    """A model on labeled rows, as ``train_default_model`` fits one."""
    model = train_model([feature_text(r["description"]) for r in rows], [float(r["amount"]) for r in rows],
                        [r["category"] for r in rows], [merchant_key(r["description"]) for r in rows],
                        random_state=TRAIN_SEED, config=FeatureConfig(country=GENERATED_COUNTRY))
    model.version = f"study-{len(rows)}"
    return model


def degrade(rows: list[dict[str, Any]], seed: int = 3) -> list[dict[str, Any]]:
    """Half the lines lower-cased, half cut to 10-18 characters (independently)."""
    rng = np.random.default_rng(seed)
    out = []
    for row in rows:
        text = row["description"]
        if rng.random() < 0.5:
            text = text.lower()
        if rng.random() < 0.5:
            text = text[: int(rng.integers(10, 19))].rstrip()
        out.append(row | {"description": text or row["description"]})
    return out


def run(model: CategoryModel, rows: list[dict[str, Any]], merchant_cache: bool, chunk: int) -> dict[str, Any]:
    """The stream in chunks through one categorizer and a fresh cache; labels and hit counts."""
    categorizer = Categorizer(RuleSet.load(), model, MemoryCache(), merchant_cache=merchant_cache)
    transactions = [Transaction(id=str(i), description=r["description"], amount=Decimal(r["amount"]),
                                currency="USD", account_id=r["account_id"]) for i, r in enumerate(rows)]
    labels: list[str] = []
    review = 0
    reports: list[ChunkReport] = []
    started = time.perf_counter()
    for start in range(0, len(transactions), chunk):
        report = categorizer.categorize(transactions[start : start + chunk])
        labels += [d.category for d in report.decisions]
        review += sum(d.needs_review for d in report.decisions)
        reports.append(report)
    unique = sum(r.unique for r in reports)
    merchant = sum(r.merchant_cache_hits for r in reports)
    total = sum(r.cache_hits for r in reports)
    return {"labels": labels, "seconds": round(time.perf_counter() - started, 1),
            "hit_rate": {"exact": round((total - merchant) / unique, 4), "merchant": round(merchant / unique, 4),
                         "total": round(total / unique, 4)},
            "model_share": round(sum(r.model_hits for r in reports) / unique, 4), "needs_review": review}


def compare(model: CategoryModel, rows: list[dict[str, Any]], chunk: int,
            subset: np.ndarray | None = None) -> dict[str, Any]:
    """Layer off against layer on, same model and rows: accuracy, drop in points, changed labels."""
    truth = np.array([r["category"] for r in rows])
    off, on = run(model, rows, False, chunk), run(model, rows, True, chunk)
    labels_off, labels_on = np.array(off.pop("labels")), np.array(on.pop("labels"))
    right_off, right_on = labels_off == truth, labels_on == truth
    result = {"rows": len(rows), "accuracy_off": round(float(right_off.mean()) * 100, 2),
              "accuracy_on": round(float(right_on.mean()) * 100, 2),
              "drop_points": round(float(right_off.mean() - right_on.mean()) * 100, 3),
              "changed_labels": int((labels_off != labels_on).sum()),
              "fixed": int((~right_off & right_on).sum()), "broken": int((right_off & ~right_on).sum()),
              "off": off, "on": on}
    if subset is not None:
        result["subset"] = {"rows": int(subset.sum()),
                            "accuracy_off": round(float(right_off[subset].mean()) * 100, 2),
                            "accuracy_on": round(float(right_on[subset].mean()) * 100, 2)}
    return result


def study(n: int, chunk: int, progress: Any = print) -> dict[str, Any]:
    """Every labeled set, layer off and on."""
    training = Generator(TRAIN_SEED).rows(TRAIN_ROWS)
    stream = Generator(STREAM_SEED).rows(n)
    progress(f"fitting the default recipe on {len(training):,} lines")
    default = fit(training)
    results: dict[str, Any] = {"n": n, "chunk": chunk}
    progress("generated")
    results["generated"] = compare(default, stream, chunk)
    progress("lower-cased, truncated")
    results["lower-cased, truncated"] = compare(default, degrade(stream), chunk)
    seen = [r for r in training if not held_out(r["merchant"])]
    progress(f"fitting without held-out merchants on {len(seen):,} lines")
    unseen = np.array([held_out(r["merchant"]) for r in stream])
    results["unseen merchants"] = compare(fit(seen), stream, chunk, subset=unseen)
    return results


def summary(name: str, r: dict[str, Any]) -> str:
    """One line per labeled set."""
    subset = r.get("subset")
    held = f" [held-out merchants {subset['accuracy_off']:.2f} -> {subset['accuracy_on']:.2f}]" if subset else ""
    return (f"{name}: accuracy {r['accuracy_off']:.2f}% off, {r['accuracy_on']:.2f}% on, drop "
            f"{r['drop_points']:+.3f} points ({r['fixed']} fixed, {r['broken']} broken){held}; hit rate off "
            f"{r['off']['hit_rate']}, on {r['on']['hit_rate']}; needs review {r['off']['needs_review']} -> "
            f"{r['on']['needs_review']}; seconds {r['off']['seconds']} -> {r['on']['seconds']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300_000, help="stream lines (the bench stream: 300,000)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    results = study(args.n, get_settings().chunk_size)
    for name in ("generated", "unseen merchants", "lower-cased, truncated"):
        print(summary(name, results[name]))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
