"""``manna export``: a job's or a source's labels to CSV, JSON Lines or Parquet, streamed in batches."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from db.engine import session_scope
from db.export import COLUMNS, categorized_rows
from pipeline.settings import Settings

FORMATS = (".csv", ".jsonl", ".parquet")


def export_labels(settings: Settings, out: Path, *, job_id: str | None = None, source: str | None = None,
                  since: dt.datetime | None = None, progress: Callable[[int], None] = lambda _: None) -> int:
    """Write every label of the job (or source) to ``out``; returns the rows written.

    The file is written next to ``out`` and renamed at the end: an interrupted export leaves no half file,
    and one that finds no label leaves a file already at ``out`` as it was.
    """
    if out.suffix.lower() not in FORMATS:
        raise ValueError(f"{out.name}: the output must end in {', '.join(FORMATS)}")
    partial = out.with_name(out.name + ".partial")
    written = 0
    try:
        with session_scope(settings.effective_database_url) as session, _writer(partial) as write:
            for batch in categorized_rows(session, job_id=job_id, source=source, since=since):
                write(batch)
                written += len(batch)
                progress(written)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    if not written and out.exists():  # nothing to write: a file that is there (an earlier export) stays
        partial.unlink()
        return 0
    partial.replace(out)
    return written


@contextmanager
def _writer(path: Path) -> Iterator[Callable[[list[dict[str, Any]]], None]]:
    kind = path.name.removesuffix(".partial").rsplit(".", 1)[-1].lower()
    if kind == "parquet":
        with _parquet_writer(path) as write:
            yield write
        return
    with path.open("w", newline="", encoding="utf-8") as handle:
        if kind == "csv":
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            yield writer.writerows
        else:
            yield lambda rows: handle.writelines(json.dumps(row, default=_plain, ensure_ascii=False) + "\n"
                                                 for row in rows)


@contextmanager
def _parquet_writer(path: Path) -> Iterator[Callable[[list[dict[str, Any]]], None]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {"amount": pa.decimal128(20, 4), "confidence": pa.float64(), "categorized_at": pa.timestamp("us", "UTC"),
             "needs_review": pa.bool_(), "correction_id": pa.int64()}
    schema = pa.schema([(name, types.get(name, pa.string())) for name in COLUMNS])
    with pq.ParquetWriter(path, schema) as writer:
        # An empty export still gets a readable file with the schema.
        yield lambda rows: writer.write_table(pa.Table.from_pylist(rows, schema=schema))


def _plain(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)
