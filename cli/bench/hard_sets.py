"""Write the fixed suite of HARD labeled files, one user's export each, and say what is in them.

    python -m cli.bench.hard_sets --out DIR

Each file is ``hard-<country>-<seed>.csv`` (``pipeline.hard_generate``): run ``manna evaluate
--data FILE --split random|unseen`` on it. Per file it prints rows, classes, distinct merchants
(true identities), and the shares of merchants seen once, brandless rows and conflicting labels.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pipeline.hard_generate import HardGenerator, describe
from pipeline.readers import write_rows

# (country, seed, rows): four countries, two users each, 1,000-3,000 rows.
SUITE = (("NZ", 1, 2_000), ("NZ", 2, 1_200), ("AU", 1, 2_500), ("AU", 2, 1_500),
         ("UK", 1, 3_000), ("UK", 2, 1_000), ("US", 1, 2_000), ("US", 2, 2_800))
HEADER = ("file", "rows", "classes", "merchants", "seen once", "brandless", "conflicting")


def write_suite(out: Path) -> list[dict[str, Any]]:
    """Write every file of the suite to ``out``; their statistics, in suite order."""
    out.mkdir(parents=True, exist_ok=True)
    stats = []
    for country, seed, rows in SUITE:
        path = out / f"hard-{country.lower()}-{seed}.csv"
        lines = HardGenerator(seed, country, rows).rows()
        write_rows(path, lines)
        stats.append({"file": path.name, **describe(lines)})
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="Folder to write the files to.")
    parser.add_argument("--json", action="store_true", help="Print the statistics as JSON.")
    args = parser.parse_args()
    stats = write_suite(args.out)
    if args.json:
        print(json.dumps(stats, indent=2))
        return
    print(f"{HEADER[0]:<16}" + "".join(f"{h:>12}" for h in HEADER[1:]))
    for s in stats:
        print(f"{s['file']:<16}{s['rows']:>12,}{s['classes']:>12}{s['merchants']:>12}"
              f"{s['merchants_seen_once']:>12.1%}{s['brandless_rows']:>12.1%}{s['conflicting_labels']:>12.1%}")


if __name__ == "__main__":
    main()
