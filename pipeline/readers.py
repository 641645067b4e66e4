"""Input files for ``manna submit``: CSV or JSON Lines, streamed row by row.

A line that cannot be parsed is passed on as its raw text, so validation rejects it with a
reason instead of the file reader dropping it.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


class InputFormatError(ValueError):
    """The file's type cannot be told from its name."""


def read_rows(path: Path) -> Iterator[Any]:
    """Rows of a CSV (header row) or JSON Lines file; a BOM is skipped, undecodable bytes become U+FFFD."""
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise InputFormatError(f"{path.name}: expected .csv, .jsonl or .ndjson")
    return _read_csv(path) if kind == "csv" else _read_jsonl(path)


def csv_header(path: Path) -> list[str] | None:
    """The column names of a CSV file (None for JSON Lines, whose rows name their fields)."""
    if SUFFIXES.get(path.suffix.lower()) != "csv":
        return None
    with _open_text(path, newline="") as handle:
        return [name.strip() for name in next(csv.reader(handle), [])]


def _read_csv(path: Path) -> Iterator[dict[str, Any] | str]:
    """A record the csv module refuses (a field over its size limit) becomes a string, then reading goes on."""
    with _open_text(path, newline="") as handle:
        reader = csv.DictReader(handle)
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as err:  # the reader has consumed the offending line; the next call goes on
                yield f"line {reader.line_num}: {err}"
                continue
            yield {key: (value if value != "" else None) for key, value in row.items() if key is not None}


def _read_jsonl(path: Path) -> Iterator[Any]:
    with _open_text(path) as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except (ValueError, RecursionError):  # bad JSON, an int over 4,300 digits, nesting too deep
                value = line.rstrip("\n")
            yield value


def _open_text(path: Path, newline: str | None = None) -> io.TextIOWrapper:
    """UTF-8 with an optional BOM, bad bytes replaced. (The utf-8-sig codec drops a lone b"\\xef".)"""
    handle = path.open("rb")
    if handle.read(len(codecs.BOM_UTF8)) != codecs.BOM_UTF8:
        handle.seek(0)
    return io.TextIOWrapper(handle, encoding="utf-8", errors="replace", newline=newline)


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
