"""Engines and sessions, created on first use in each process (never at import time)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session

_engines: dict[tuple[str, int], Engine] = {}
_lock = threading.Lock()


def get_engine(url: str) -> Engine:
    """The engine for ``url`` in this process; a forked child gets its own pool."""
    key = (url, os.getpid())
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = _create(url)
        return engine


def dispose_engines() -> None:
    """Close every pool this process opened (tests, worker shutdown)."""
    with _lock:
        for (_, pid), engine in list(_engines.items()):
            if pid == os.getpid():
                engine.dispose()
        _engines.clear()


def _create(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # A server that does not answer fails the connect in seconds (a retry), not at the hard time limit.
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5, pool_recycle=1800,
                         connect_args={"connect_timeout": 5})


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the embedded worker write while the CLI reads progress.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """One session, one transaction: committed when the block ends, rolled back on error."""
    session = Session(get_engine(url), expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def transient_errors() -> tuple[type[BaseException], ...]:
    """Database errors worth retrying: lost connections, a server restarting, SQLite busy."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    return (OperationalError, InterfaceError)
