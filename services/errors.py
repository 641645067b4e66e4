"""Known failures in one line: what is wrong and how to fix it. The CLI and the API both use it.

A failure is known when its cause is outside the code: a server that does not answer, a database
that was never created, a schema never migrated, an invalid ``MANNA_*`` value, a file that cannot
be read. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import redis.exceptions
from pydantic import ValidationError
from sqlalchemy import exc as sa_exc

SERVICES_HINT = "start it (deploy/services.sh starts local Redis and PostgreSQL)"


@dataclass(frozen=True)
class KnownFailure:
    """``service`` is what failed (database, broker, cache, settings, file); ``message`` names the fix."""

    service: str
    message: str

    def __str__(self) -> str:
        return self.message


def describe(err: BaseException) -> KnownFailure | None:
    """The known failure behind ``err`` or any exception it was raised from, else None."""
    for cause in _chain(err):
        failure = _describe_one(cause)
        if failure is not None:
            return failure
    return None


def _chain(err: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _describe_one(err: BaseException) -> KnownFailure | None:
    if isinstance(err, ValidationError):
        return _invalid_setting(err)
    if isinstance(err, sa_exc.DBAPIError | sa_exc.InterfaceError):
        return _database(err)
    if isinstance(err, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        return KnownFailure("redis", f"Redis is not answering ({_first_line(err)}): {SERVICES_HINT}, or check "
                                     "MANNA_BROKER_URL and MANNA_CACHE_URL")
    if type(err).__module__.startswith("kombu") and type(err).__name__ == "OperationalError":
        # Without a known cause below it (that would have matched first): the broker as a whole.
        return KnownFailure("broker", f"the broker is not answering ({_first_line(err)}): {SERVICES_HINT}, "
                                      "or check MANNA_BROKER_URL")
    if isinstance(err, OSError) and err.filename is not None:
        return KnownFailure("file", f"cannot use {err.filename}: {err.strerror or err}")
    return None


def _database(err: sa_exc.StatementError) -> KnownFailure | None:
    text = str(err.orig) if err.orig is not None else str(err)
    missing_db = re.search(r'database "([^"]+)" does not exist', text)
    if missing_db:
        name = missing_db.group(1)
        return KnownFailure("database", f"database {name!r} does not exist: create it (createdb -h HOST -U USER "
                                        f"{name}), then run manna db upgrade")
    if re.search(r"no such table|relation \"[^\"]+\" does not exist|no such column|column .* does not exist",
                 text):
        return KnownFailure("database", f"the schema is missing or old ({_first_line(text)}): run manna db upgrade")
    if "unable to open database file" in text:  # SQLite, embedded: its folder is missing or unwritable
        return KnownFailure("database", f"cannot open the SQLite database ({_first_line(text)}): its folder "
                                        "(MANNA_DATA_DIR) must exist and be writable; manna db upgrade makes it")
    if re.search(r"could not connect|connection refused|Connection refused|could not translate host|"
                 r"server closed the connection|timeout expired|"
                 r"role \"[^\"]+\" does not exist|password authentication failed", text):
        return KnownFailure("database", f"the database is not answering ({_first_line(text)}): {SERVICES_HINT}, "
                                        "or check MANNA_DATABASE_URL")
    return None


def _invalid_setting(err: ValidationError) -> KnownFailure | None:
    if err.title != "Settings":
        return None
    problems = []
    for item in err.errors():
        field = str(item["loc"][0]) if item["loc"] else ""
        name = f"MANNA_{field.upper()}" if field else "settings"
        value = item.get("input")
        shown = "" if isinstance(value, dict) or value is None else f"={str(value)[:40]}"
        problems.append(f"{name}{shown}: {item['msg']}")
    return KnownFailure("settings", "invalid setting " + "; ".join(problems) + " (see the README's Configuration)")


def _first_line(err: BaseException | str) -> str:
    text = str(err).strip()
    # psycopg2 puts the useful part after "failed:"; keep one line either way.
    return re.sub(r"\s+", " ", text.splitlines()[0] if text else type(err).__name__)[:160]
