"""Speed and reach of the brand matcher (``pipeline/brands.py``) on generated lines, one core.

    python -m cli.bench.brand_match [--n 50000] [--runs 5] [--seed 0] [--countries US,NZ,GB,AU]

Lines are ``feature_text`` of ``Generator(seed).rows(n)`` descriptions (US-style card lines), so
the match share is a property of the generator's merchant list, not of real data; real bank
lines matched 58% (US) and 30% (NZ) in the probe recorded in MODELING.md. Speed is the median of
``--runs`` passes of ``matcher.keys`` over all lines, after one warm-up pass.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

from pipeline.brands import BrandMatcher, load_catalog
from pipeline.generate import Generator
from pipeline.normalize import feature_text


def deep_size(matcher: BrandMatcher) -> int:
    """Approximate bytes the matcher holds: its dicts, their keys and entries (shared strings once)."""
    seen: set[int] = set()

    def size(obj: Any) -> int:
        if id(obj) in seen:
            return 0
        seen.add(id(obj))
        total = sys.getsizeof(obj)
        if isinstance(obj, dict):
            total += sum(size(k) + size(v) for k, v in obj.items())
        elif isinstance(obj, tuple):
            total += sum(size(item) for item in obj)
        elif hasattr(obj, "__slots__"):
            total += sum(size(getattr(obj, slot)) for slot in obj.__slots__)
        return total

    return size(matcher._entries) + size(matcher._longest)


def measure(matcher: BrandMatcher, texts: list[str], runs: int) -> tuple[float, float]:
    """(lines per second, median of ``runs``; share of lines with at least one brand)."""
    found = matcher.keys(texts)  # warm-up, and the share
    rates = []
    for _ in range(runs):
        started = time.perf_counter()
        matcher.keys(texts)
        rates.append(len(texts) / (time.perf_counter() - started))
    return statistics.median(rates), sum(1 for keys in found if keys) / len(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000, help="generated lines")
    parser.add_argument("--runs", type=int, default=5, help="timed passes (the median is reported)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--countries", default="US,NZ,GB,AU", help="comma-separated ISO codes; ALL for every brand")
    args = parser.parse_args()
    texts = [feature_text(row["description"]) for row in Generator(args.seed).rows(args.n)]
    catalog = load_catalog()
    header = catalog.header
    print(f"catalog {header['package']}@{header['version']}: {len(catalog.brands):,} entries, "
          f"{len(catalog.all_keys())} OSM keys; {len(texts):,} generated lines (seed {args.seed})")
    print(f"{'country':8} {'brands':>7} {'names':>7} {'MB held':>8} {'build ms':>9} {'lines/s':>10} {'matched':>8}")
    for code in args.countries.split(","):
        country = None if code.upper() == "ALL" else code.strip()
        started = time.perf_counter()
        matcher = catalog.matcher(country)
        build_ms = (time.perf_counter() - started) * 1000
        rate, share = measure(matcher, texts, args.runs)
        print(f"{code:8} {matcher.brand_count:>7,} {matcher.name_count:>7,} {deep_size(matcher) / 1e6:>8.2f} "
              f"{build_ms:>9.0f} {rate:>10,.0f} {share:>8.1%}")


if __name__ == "__main__":
    main()
