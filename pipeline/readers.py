"""Input files of ``submit``, ``train``, ``predict``, ``evaluate`` and reviews: CSV or JSON Lines, streamed.

``read_rows`` yields one item per record, in order: a dict of fields (CSV: header names, stripped, to
values, an empty value as None; JSONL: the parsed line), or what validation rejects with a reason and
the line number (``pipeline.schema.unreadable_row``): a CSV record with more or fewer fields than the
header (``row:extra_fields``, ``row:missing_fields``: never shifted into the wrong columns nor cut
short), a record the csv module refuses or a quote left open, which costs its own line only
(``row:invalid_csv``), a line that is not JSON (``row:invalid_json``). A JSON line that is not an object
is passed on as it is (``row:not_an_object``). Blank lines are skipped; nothing else is dropped, so the
n-th item is the n-th row of the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from pathlib import Path
from typing import Any

from pipeline.schema import unreadable_row

SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


class InputFormatError(ValueError):
    """The file's type cannot be told from its name."""


def read_rows(path: Path) -> Iterator[Any]:
    """Rows of a CSV (header row) or JSON Lines file; a BOM is skipped, undecodable bytes become U+FFFD."""
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise InputFormatError(f"{path.name}: expected .csv, .jsonl or .ndjson")
    return _read_csv(path) if kind == "csv" else _read_jsonl(path)


def header_hint(header: Sequence[str], missing: Sequence[str]) -> str:
    """Why a header misses ``missing``, when it can be told: another separator, or a name in other letters.

    A header that is one column holding another separator: a missing-column error alone reads odd.
    """
    if len(header) == 1:
        for name, separator in (("semicolons", ";"), ("tabs", "\t"), ("pipes", "|")):
            if separator in header[0]:
                return (f" (the header is one column, {header[0][:40]!r}: "
                        f"Manna reads CSV separated by commas, not {name})")
    for wanted in missing:
        for name in header:
            if name.strip().lower() == wanted:
                return f" (column names are lower case: {name!r} is not {wanted!r})"
    return ""


def duplicated_columns(header: Sequence[str], read: Sequence[str]) -> list[str]:
    """Names of ``read`` that a header holds more than once: a row would keep the last one's value, silently."""
    return sorted({name for name in header if name in read and header.count(name) > 1})


def csv_header(path: Path) -> list[str] | None:
    """The column names of a CSV file, as ``read_rows`` takes them (None for JSON Lines: rows name their fields)."""
    if SUFFIXES.get(path.suffix.lower()) != "csv":
        return None
    with _open_text(path, newline="") as handle:
        reader = csv.reader(handle)
        while True:
            try:
                for fields in reader:
                    if not _blank(fields):
                        return [name.strip() for name in fields]
                return []
            except csv.Error:  # read_rows passes such a record on as unreadable and takes the next as the header
                continue


def _read_csv(path: Path) -> Iterator[dict[str, Any]]:
    """Records mapped to the header by position only when the counts agree (csv.DictReader would shift or pad).

    A line without a quote, shorter than the field size limit, is one record whose fields are its
    text between commas: split here at half csv.reader's cost (it looks at every character). Any
    other line starts a record that csv.reader reads, across lines if it must; but a quote left
    open (``_unclosed_quote``) costs its own line only, and reading goes on from the next.
    """
    limit = csv.field_size_limit()
    with _open_text(path, newline="") as handle:
        source = iter(handle)  # with newline="", a line ends only at its end, in "\n", "\r\n" or "\r"
        again: Iterator[str] = iter(())  # lines a quote left open took, to be read on their own
        lines: Iterator[str] = source
        header: list[str] = []
        width = -1  # no header yet
        number = 0  # the last line read
        while True:
            for line in lines:
                number += 1
                start = number
                if '"' in line or len(line) > limit:
                    fields, error, taken = _csv_record(line, lines)
                    if taken and width >= 0 and (open_quote := _unclosed_quote(line, fields, error, taken, width)):
                        yield unreadable_row("row:invalid_csv", start, open_quote, None)
                        again = iter([*taken, *again])  # one chain deep however many quotes are left open
                        lines = chain(again, source)
                        break
                    number += len(taken)
                    if error is not None:
                        yield unreadable_row("row:invalid_csv", start, str(error), None)
                        continue
                else:
                    text = line.rstrip("\r\n")
                    fields = text.split(",") if text else []
                if len(fields) == width:  # the common case first
                    # dict(zip()) runs in C; only a row with an empty field needs the slower pass
                    yield ({name: value or None for name, value in zip(header, fields, strict=True)}
                           if "" in fields else dict(zip(header, fields, strict=True)))
                elif _blank(fields):
                    continue
                elif width < 0:
                    header, width = [name.strip() for name in fields], len(fields)
                else:
                    problem = "row:extra_fields" if len(fields) > width else "row:missing_fields"
                    yield unreadable_row(problem, start, f"{len(fields)} fields, the header has {width}", fields)
            else:
                return


def _csv_record(line: str, lines: Iterator[str]) -> tuple[list[str], csv.Error | None, list[str]]:
    """The record csv.reader reads from ``line`` on, or the error it raised, and the lines of ``lines`` it took."""
    taken: list[str] = []

    def take(more: str) -> str:  # called only when a quoted field runs on: a line without costs nothing more
        taken.append(more)
        return more

    reader = csv.reader(chain((line,), map(take, lines)))
    try:
        return next(reader), None, taken
    except csv.Error as err:  # the reader has consumed the offending line; reading goes on after it
        return [], err, taken


def _unclosed_quote(line: str, fields: list[str], error: csv.Error | None, taken: list[str], width: int) -> str:
    """Why a record read across lines is a quote left open, not a field with line breaks; "" if it is not.

    A stray quote would take every line up to the next quote of the file as one field: many rows
    lost for one typo. A field that truly spans lines makes a record of the header's width whose
    quotes pair as CSV's do (csv's strict mode); a stray quote pairs with the opening quote of a
    later field, which text follows.
    """
    opened = f"a quote opened on this line runs over the next {len(taken)} line(s)"
    if error is not None:
        return f"{opened} and is never closed ({error}); they are read on their own"
    if len(fields) != width:
        return f"{opened} into a record of {len(fields)} fields, the header has {width}; they are read on their own"
    try:
        next(csv.reader([line, *taken], strict=True))
    except csv.Error as err:
        return f"{opened}, and its quotes do not pair ({err}); they are read on their own"
    return ""


def _blank(fields: list[str]) -> bool:
    """A blank or all-space line (csv.reader gives [] or one field)."""
    return len(fields) <= 1 and not "".join(fields).strip()


def _read_jsonl(path: Path) -> Iterator[Any]:
    with _open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except (ValueError, RecursionError) as err:  # bad JSON, an int over 4,300 digits, nesting too deep
                detail = f"not JSON ({err.msg})" if isinstance(err, json.JSONDecodeError) else "not JSON"
                value = unreadable_row("row:invalid_json", number, detail, line.rstrip("\n"))
            yield value


_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)  # a file that opens with one is read as UTF-16


def _open_text(path: Path, newline: str | None = None) -> io.TextIOWrapper:
    """UTF-8 with an optional BOM, or UTF-16 with its BOM (Excel's "Unicode text"); bad bytes replaced.

    (The utf-8-sig codec would drop a lone b"\\xef".)
    """
    handle = path.open("rb")
    start = handle.read(len(codecs.BOM_UTF8))
    if start[:2] in _UTF16_BOMS:
        handle.seek(0)
        return io.TextIOWrapper(handle, encoding="utf-16", errors="replace", newline=newline)
    if start != codecs.BOM_UTF8:
        handle.seek(0)
    return io.TextIOWrapper(handle, encoding="utf-8", errors="replace", newline=newline)


def utf8_problem(path: Path) -> str:
    """Where a file's bytes are not UTF-8 (they read as U+FFFD), in words; "" when they all are, or it is UTF-16.

    One pass over the bytes (40 ms for 80 MB): readers replace bad bytes rather than stop, so that
    one of them loses no row; a command says this first, because a Latin-1 export reads wrong throughout.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with path.open("rb") as handle:
        if handle.read(2) in _UTF16_BOMS:
            return ""
        handle.seek(0)
        while chunk := handle.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as err:  # err.object: the bytes held from the last chunk, then this one
                line += _line_ends(err.object[: err.start])
                return f"line {line} holds the byte 0x{err.object[err.start]:02X}"
            line += _line_ends(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "it ends inside a character"
    return ""


def _line_ends(data: bytes) -> int:
    """Lines ended in ``data``: by "\\n" (and "\\r\\n"), or by a lone "\\r" in a file of old Mac line ends."""
    return data.count(b"\n") or data.count(b"\r")


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
