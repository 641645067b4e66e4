"""Input files for ``manna submit``: CSV or JSON Lines, streamed row by row.

A line that cannot be parsed is passed on as its raw text, so validation rejects it with a
reason instead of the file reader dropping it.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


class InputFormatError(ValueError):
    """The file's type cannot be told from its name."""


def read_rows(path: Path) -> Iterator[Any]:
    """Rows of a CSV (header row) or JSON Lines file; undecodable bytes become U+FFFD."""
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise InputFormatError(f"{path.name}: expected .csv, .jsonl or .ndjson")
    return _read_csv(path) if kind == "csv" else _read_jsonl(path)


def _read_csv(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        for row in csv.DictReader(handle):
            yield {key: (value if value != "" else None) for key, value in row.items() if key is not None}


def _read_jsonl(path: Path) -> Iterator[Any]:
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                yield line.rstrip("\n")


def write_rows(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    """Write dict rows as CSV (columns from the first row) or JSON Lines, by the file's suffix."""
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise InputFormatError(f"{path.name}: expected .csv, .jsonl or .ndjson")
    with path.open("w", newline="", encoding="utf-8") as handle:
        if kind == "jsonl":
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            return
        writer: csv.DictWriter[str] | None = None
        for row in rows:
            if writer is None:
                writer = csv.DictWriter(handle, fieldnames=list(row))
                writer.writeheader()
            writer.writerow(row)
