"""CPU per row of ``validate_batch`` and ``batch_key`` on 1,000-row messages, before and after issue 13's change.

Run: ``PYTHONPATH=. python -m cli.bench.validation_cpu [--repeats 41]``. The rows are generated as the
bench producer sends them (id, description and amount as strings). Old and new alternate in this one
process, each timed by process CPU time (the machine is shared), and the medians are printed.
"Before" is ``validate_batch(..., compiled=False)`` (every row through the Python checks, as before
the change) and the former ``batch_key``, kept here only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from pipeline.chunks import batch_key
from pipeline.generate import Generator
from pipeline.schema import validate_batch
from pipeline.settings import Settings


def old_batch_key(source: str, transactions: Any) -> str:
    """``batch_key`` before: sorted-key JSON, hashed."""
    canonical = json.dumps([source, transactions], sort_keys=True, default=str, ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def message(seed: int, size: int) -> list[dict[str, Any]]:
    """Rows as ``cli/bench/producer.py`` sends them."""
    rows = Generator(seed).rows(size)
    for index, row in enumerate(rows):
        row.pop("category", None)
        row.pop("merchant", None)
        row["id"] = f"bench-{index}"
    return rows


def cpu_us_per_row(run: Callable[[], object], rows: int) -> float:
    started = time.process_time()
    run()
    return (time.process_time() - started) * 1e6 / rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=41)
    parser.add_argument("--size", type=int, default=1000)
    args = parser.parse_args()
    settings = Settings()
    rows = message(7, args.size)
    old, new = validate_batch(rows, settings, compiled=False), validate_batch(rows, settings)
    assert (old.accepted, old.positions, old.rejected) == (new.accepted, new.positions, new.rejected)
    cases = {
        "validate_batch": (lambda: validate_batch(rows, settings, compiled=False),
                           lambda: validate_batch(rows, settings)),
        "batch_key": (lambda: old_batch_key("bench", rows), lambda: batch_key("bench", rows)),
    }
    for name, (before, after) in cases.items():
        for warm in (before, after):
            warm()
        times: dict[str, list[float]] = {"before": [], "after": []}
        for _ in range(args.repeats):  # alternate, so drift in the neighbours' load hits both alike
            times["before"].append(cpu_us_per_row(before, len(rows)))
            times["after"].append(cpu_us_per_row(after, len(rows)))
        b, a = statistics.median(times["before"]), statistics.median(times["after"])
        print(f"{name:15s} before {b:6.2f} us/row  after {a:6.2f} us/row  ({b / a:.1f}x, median of {args.repeats})")


if __name__ == "__main__":
    main()
