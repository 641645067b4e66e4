"""Leases: named locks with an expiry, held across processes through the database.

A holder that dies (a killed worker) cannot release its lease, so every lease ends by itself
when it expires: the lock survives the crash for at most that long, never forever.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, update

from db.bulk import upsert_ignore
from db.engine import session_scope
from db.models import Lease


def acquire(database_url: str, name: str, holder: str, seconds: float) -> bool:
    """Take the lease ``name`` for ``seconds`` unless someone else holds an unexpired one."""
    now = dt.datetime.now(dt.UTC)
    expires = now + dt.timedelta(seconds=seconds)
    with session_scope(database_url) as session:
        if upsert_ignore(session, Lease, {"name": name, "holder": holder, "expires_at": expires}):
            return True
        taken = session.execute(update(Lease).where(Lease.name == name, Lease.expires_at < now)
                                .values(holder=holder, expires_at=expires))
        return bool(getattr(taken, "rowcount", 0) == 1)


def release(database_url: str, name: str, holder: str) -> None:
    """Give the lease back (only its holder can)."""
    with session_scope(database_url) as session:
        session.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))
