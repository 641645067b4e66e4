"""CPU per line of each categorization stage, in-process: no broker, no database, no cache.

    python cli/bench/categorize_cpu.py [--model-dir DIR] [--against REV] [--rounds 3]

A model is trained on 20,000 generated lines (seed 0) into ``--model-dir`` the first time. Each
stage is timed with ``time.process_time`` over 1,000-row chunks of generated lines never seen
before in the process (cold: distinct lines, the per-process word caches warm as in a worker).
With ``--against REV``, REV's ``pipeline/`` runs in child processes alternating with this tree's,
and both dump their decisions on the same lines, which must be identical.

Run as a script (not ``manna``): a child imports only ``pipeline``, so an older tree can run it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
STAGES = ("categorize", "normalize", "rules", "vectorize", "decide", "explain")
CHUNK = 1_000


def _train(model_dir: Path) -> None:
    from pipeline.features import FeatureConfig
    from pipeline.generate import GENERATED_COUNTRY, Generator
    from pipeline.model import save_model, train_model
    from pipeline.normalize import feature_text, merchant_key

    rows = Generator(0).rows(20_000)
    model = train_model([feature_text(r["description"]) for r in rows], [float(r["amount"]) for r in rows],
                        [r["category"] for r in rows], [merchant_key(r["description"]) for r in rows],
                        config=FeatureConfig(country=GENERATED_COUNTRY))
    save_model(model, model_dir, versioned=False)


def _chunks(seed: int, count: int) -> list[list[Any]]:
    from pipeline.generate import Generator
    from pipeline.schema import Transaction

    rows = Generator(seed).rows(CHUNK * count, id_prefix=f"s{seed}-")
    txns = [Transaction(r["id"], r["description"], Decimal(r["amount"]), "USD", account_id=r["account_id"])
            for r in rows]
    return [txns[i:i + CHUNK] for i in range(0, len(txns), CHUNK)]


def _cpu(fn: Callable[[], Any]) -> float:
    started = time.process_time()
    fn()
    return time.process_time() - started


def _stage_seconds(categorizer: Any, chunk: list[Any]) -> dict[str, float]:
    """The model path of ``Categorizer._decide_misses`` for every row of a chunk, stage by stage."""
    import numpy as np

    from pipeline.normalize import feature_text, merchant_key_of_text

    model, rules, seconds = categorizer.model, categorizer.rules, {}
    out: dict[str, Any] = {}
    seconds["normalize"] = _cpu(lambda: out.update(texts=[feature_text(t.description) for t in chunk]))
    seconds["normalize"] += _cpu(lambda: out.update(keys=[merchant_key_of_text(text) for text in out["texts"]]))
    texts, amounts = out["texts"], np.array([float(t.amount) for t in chunk])
    seconds["rules"] = _cpu(lambda: [rules.first_match(text, key, float(a), t.account_id) for text, key, a, t
                                     in zip(texts, out["keys"], amounts, chunk, strict=True)])
    seconds["vectorize"] = _cpu(lambda: out.update(matrix=model.vectorize(texts, amounts)))
    seconds["decide"] = _cpu(lambda: out.update(decided=model.predict_matrix(out["matrix"])))
    seconds["explain"] = _cpu(lambda: model.explain(out["matrix"], texts, out["decided"][0]))
    return seconds


def child(model_dir: Path, repeats: int, chunks: int) -> dict[str, list[float]]:
    """µs per line of each stage, one figure per repeat (each repeat on lines of its own seed)."""
    import gc

    from pipeline.categorize import Categorizer
    from pipeline.model import load_model, read_manifest
    from pipeline.rules import RuleSet

    model = load_model(model_dir, read_manifest(model_dir)["sha256"])
    categorizer = Categorizer(RuleSet.load(), model)
    warm = _chunks(999, 2)
    for chunk in warm:
        categorizer.categorize(chunk)
        _stage_seconds(categorizer, chunk)
    gc.freeze()  # as the worker does after loading the model
    figures: dict[str, list[float]] = {stage: [] for stage in STAGES}
    for repeat in range(repeats):
        whole, staged = _chunks(1000 + repeat, chunks), _chunks(2000 + repeat, chunks)
        lines = CHUNK * chunks
        figures["categorize"].append(sum(_cpu(lambda c=c: categorizer.categorize(c)) for c in whole) / lines * 1e6)
        totals: dict[str, float] = {}
        for chunk in staged:
            for stage, spent in _stage_seconds(categorizer, chunk).items():
                totals[stage] = totals.get(stage, 0.0) + spent
        for stage, spent in totals.items():
            figures[stage].append(spent / lines * 1e6)
    return figures


def dump(model_dir: Path, out: Path) -> None:
    """Category, confidence and explanation of 5,000 generated lines (the equivalence check)."""
    from pipeline.categorize import Categorizer
    from pipeline.model import load_model, read_manifest
    from pipeline.normalize import feature_text
    from pipeline.rules import RuleSet

    model = load_model(model_dir, read_manifest(model_dir)["sha256"])
    categorizer = Categorizer(RuleSet.empty(), model)  # every line through the model
    decisions = [d for chunk in _chunks(3000, 5) for d in categorizer.categorize(chunk).decisions]
    rows = [[d.category, d.confidence, d.explanation] for d in decisions]
    texts, amounts = [], []
    for chunk in _chunks(3001, 5):
        texts += [feature_text(t.description) for t in chunk]
        amounts += [float(t.amount) for t in chunk]
    categories, confidences = model.predict(texts, amounts)
    rows += [[c, repr(p)] for c, p in zip(categories, confidences.tolist(), strict=True)]
    out.write_text(json.dumps(rows), encoding="utf-8")


def _use_tree(tree: Path) -> None:
    """Import ``pipeline`` from ``tree``: an editable install of Manna would otherwise win over PYTHONPATH."""
    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in type(f).__name__.lower()]
    sys.path.insert(0, str(tree))
    import pipeline

    if Path(pipeline.__file__).resolve().parents[1] != tree.resolve():
        raise SystemExit(f"pipeline came from {pipeline.__file__}, not from {tree}")


def _run_child(tree: Path, model_dir: Path, args: list[str]) -> str:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, str(Path(__file__).resolve()), "--model-dir", str(model_dir), "--tree", str(tree),
               *args]
    return subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout


def compare(against: str, model_dir: Path, rounds: int, repeats: int, chunks: int) -> None:
    """Alternate REV's tree and this one; print medians per stage and check identical decisions."""
    with tempfile.TemporaryDirectory() as scratch:
        old = Path(scratch) / "old"
        old.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", against, "pipeline"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
        trees = {against: old, "this tree": ROOT}
        figures: dict[str, dict[str, list[float]]] = {name: {s: [] for s in STAGES} for name in trees}
        for _ in range(rounds):
            for name, tree in trees.items():
                found = json.loads(_run_child(tree, model_dir, ["--child", str(repeats), str(chunks)]))
                for stage in STAGES:
                    figures[name][stage] += found[stage]
        dumps = {}
        for name, tree in trees.items():
            target = Path(scratch) / f"{len(dumps)}.json"
            _run_child(tree, model_dir, ["--dump", str(target)])
            dumps[name] = target.read_text(encoding="utf-8")
    print(f"| stage (CPU µs per line, median of {rounds * repeats}) | {against} | this tree |")
    print("|---|---|---|")
    for stage in STAGES:
        print(f"| {stage} | " + " | ".join(f"{statistics.median(figures[n][stage]):.1f}" for n in trees) + " |")
    same = len(set(dumps.values())) == 1
    print(f"decisions on 10,000 lines (category, confidence, explanation): {'identical' if same else 'DIFFERENT'}")


def main() -> None:
    """Parse arguments and run one of the modes."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-dir", type=Path, default=Path(tempfile.gettempdir()) / "manna-bench-model")
    parser.add_argument("--against", help="a git revision to compare with, alternating")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--chunks", type=int, default=5, help="1,000-row chunks per repeat")
    parser.add_argument("--child", nargs=2, type=int, metavar=("REPEATS", "CHUNKS"), help=argparse.SUPPRESS)
    parser.add_argument("--dump", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--tree", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args()
    _use_tree(args.tree)
    if not (args.model_dir / "model.joblib").is_file():
        _train(args.model_dir)
    if args.child:
        print(json.dumps(child(args.model_dir, *args.child)))
    elif args.dump:
        dump(args.model_dir, args.dump)
    elif args.against:
        compare(args.against, args.model_dir, args.rounds, args.repeats, args.chunks)
    else:
        found = child(args.model_dir, args.repeats, args.chunks)
        for stage in STAGES:
            print(f"{stage:>10}: {statistics.median(found[stage]):6.1f} µs per line")


if __name__ == "__main__":
    main()
