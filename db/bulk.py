"""Bulk, idempotent inserts: COPY into a staging table on Postgres, executemany on SQLite.

Both paths insert only rows whose key is new and report which keys they inserted, so a
redelivered chunk or a re-sent job adds nothing.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session


def insert_new(
    session: Session, model: type[DeclarativeBase], rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` that do not exist yet (by primary or unique key); return the inserted keys."""
    table = _table(model)
    if not rows:
        return []
    if session.get_bind().dialect.name == "postgresql":
        return _copy_insert(session, table, rows, keys)
    statement = sqlite.insert(table).on_conflict_do_nothing().returning(*(table.c[k] for k in keys))
    return [tuple(row) for row in session.execute(statement, list(rows))]


def upsert_ignore(session: Session, model: type[DeclarativeBase], values: dict[str, Any]) -> bool:
    """Insert one row unless its key exists; True when this call inserted it."""
    table = _table(model)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    result = session.execute(insert(table).values(**values).on_conflict_do_nothing())
    return bool(getattr(result, "rowcount", 0) == 1)


def _table(model: type[DeclarativeBase]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _copy_insert(
    session: Session, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> list[tuple[Any, ...]]:
    columns = list(rows[0])
    stage = f"stage_{table.name}"
    column_list = ", ".join(columns)
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        # A temp table lives as long as the pooled connection: created once, emptied each use.
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table.name} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        cursor.copy_expert(f"COPY {stage} ({column_list}) FROM STDIN", _copy_buffer(rows, columns))
        cursor.execute(
            f"INSERT INTO {table.name} ({column_list}) SELECT {column_list} FROM {stage}"
            f" ON CONFLICT DO NOTHING RETURNING {', '.join(keys)}"
        )
        inserted = [tuple(row) for row in cursor.fetchall()]
        cursor.execute(f"TRUNCATE {stage}")
        return inserted
    finally:
        cursor.close()


def _copy_buffer(rows: Sequence[dict[str, Any]], columns: list[str]) -> io.StringIO:
    tabs = len(columns) - 1
    lines = []
    for row in rows:
        values = [row[c] for c in columns]
        # The common row needs no escaping: plain str() of each value (Postgres reads "True", ISO
        # dates and "1E+3" too), checked once on the whole line: each NULL adds one backslash, so
        # any other backslash, a tab inside a value, a newline or a return sends the row to the
        # escaping path.
        line = "\t".join([_NULL if v is None else v if v.__class__ is str else str(v) for v in values])
        if line.count("\t") != tabs or line.count("\\") != values.count(None) or "\n" in line or "\r" in line:
            line = "\t".join([_copy_value(v) for v in values])
        lines.append(line)
    lines.append("")
    return io.StringIO("\n".join(lines))


def _copy_value(value: Any) -> str:
    # COPY text format: \N is NULL; backslash, tab, newline and carriage return are escaped.
    kind = value.__class__
    if kind is str:  # most values: test for the four characters before paying for a rewrite
        return value.translate(_ESCAPES) if _NEEDS_ESCAPE.search(value) else value  # type: ignore[no-any-return]
    if value is None:
        return "\\N"
    if kind is bool:
        return "t" if value else "f"
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, int | float | Decimal):
        return str(value)
    return _copy_value(str(value))


_NULL = "\\N"
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]")
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
