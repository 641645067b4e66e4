"""The transaction contract: validate raw rows into ``Transaction`` or a machine-readable reason.

Amounts (``parse_amount``, the one parser that serving, ``submit``, ``train``, ``predict`` and
``evaluate`` share): a JSON number, or a string that, once surrounding whitespace is stripped, is
either what ``decimal.Decimal`` reads (``-4.50``, ``+12``, ``.5``, ``1E+3``; no ``_``), or digits
grouped by commas in threes with an optional fraction, ``[+-]?d{1,3}(,ddd)+(.d+)?`` (``1,234.50``,
``-12,000``). Any other comma is refused as ``amount:invalid``: ``1,50`` and ``12,34`` could be
decimal commas, and a guess would be off by a factor of 100 or 1,000. Then at most 4 decimals and
at most ``max_abs_amount`` in absolute value.

``validate_batch`` first runs the whole message through one compiled validator (pydantic-core) that
accepts only rows it can take without doubt (ASCII printable text, plain decimal strings or ints in
range, ISO codes, ``YYYY-MM-DD`` dates in range) and builds their ``Transaction``s; every other row
goes through the per-row checks below, which alone decide rejections and their reasons. A
differential property test (tests/unit/test_schema_compiled.py) holds the two to the same result.

A file reader that cannot map a line to fields (``pipeline/readers.py``) passes on an
``unreadable_row``; validation rejects it with the reader's reason (``row:extra_fields``,
``row:missing_fields``, ``row:invalid_json``, ``row:invalid_csv``) and the line number in the detail.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from pydantic_core import SchemaValidator
from pydantic_core import core_schema as cs

from pipeline.currencies import ISO_4217
from pipeline.normalize import clean_text
from pipeline.settings import Settings

_MCC = re.compile(r"[0-9]{4}")  # ASCII digits only, used with fullmatch
_MAX_ID_LENGTH = 128
MAX_JOB_ID_LENGTH = 128  # manna.submit_batch's job_id and source (tasks.ingest refuses longer ones)
MAX_SOURCE_LENGTH = 64
_MAX_SHORT_FIELD = 256
_MAX_DECIMALS = 4
# Thousands separators only in this unambiguous form; ASCII digits ([0-9], not \d).
_GROUPED_AMOUNT = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_PLAIN_AMOUNT = re.compile(r"-?[0-9]{1,16}(?:\.[0-9]{1,4})?")  # finite, at most 4 decimals, no exponent
UNREADABLE = "_unreadable"  # the key of a row a file reader could not read (see ``unreadable_row``)
# The contract's fields (ARCHITECTURE.md): a row without the first three is rejected; others are ignored.
REQUIRED_FIELDS = ("id", "description", "amount")
OPTIONAL_FIELDS = ("currency", "date", "account_id", "mcc", "counterparty")
READER_REASONS = frozenset({"row:extra_fields", "row:missing_fields", "row:invalid_json", "row:invalid_csv"})


@dataclass(frozen=True, slots=True)
class Transaction:
    """One accepted transaction, normalized to plain types."""

    id: str
    description: str
    amount: Decimal
    currency: str
    date: dt.date | None = None
    account_id: str | None = None
    mcc: str | None = None
    counterparty: str | None = None

    def to_message(self) -> dict[str, Any]:
        """JSON-safe dict for a task message (amount as a decimal string, date as ISO)."""
        return {
            "id": self.id,
            "description": self.description,
            "amount": str(self.amount),
            "currency": self.currency,
            "date": self.date.isoformat() if self.date else None,
            "account_id": self.account_id,
            "mcc": self.mcc,
            "counterparty": self.counterparty,
        }

    @classmethod
    def from_message(cls, row: dict[str, Any]) -> Transaction:
        """Inverse of ``to_message`` for rows this project already validated."""
        return cls(
            id=row["id"],
            description=row["description"],
            amount=Decimal(row["amount"]),
            currency=row["currency"],
            date=dt.date.fromisoformat(row["date"]) if row.get("date") else None,
            account_id=row.get("account_id"),
            mcc=row.get("mcc"),
            counterparty=row.get("counterparty"),
        )


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a row was refused: ``reason`` is ``<field>:<problem>``, ``detail`` is for humans."""

    row_index: int
    reason: str
    detail: str
    raw: Any
    transaction_id: str | None = None


class RowError(ValueError):
    """A row breaks the contract."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class BatchResult:
    """The outcome of validating one message: accepted rows in input order, rejections."""

    accepted: list[Transaction]
    positions: list[int]  # index in the message of each accepted row
    rejected: list[Rejection]


def validate_batch(rows: Any, settings: Settings, *, compiled: bool = True) -> BatchResult:
    """Validate every row of a message; bad rows are rejected, duplicates of an id keep the first.

    A message over the size limit is rejected row by row as ``message:too_large``. ``compiled=False``
    checks every row in Python: the reference the compiled fast path is tested and measured against.
    """
    if not isinstance(rows, list):
        raise RowError("transactions:not_a_list", f"expected a list, got {type(rows).__name__}")
    if len(rows) > settings.max_message_transactions:
        # Too large to take as one unit: every row is kept, rejected with the reason.
        detail = (f"message holds {len(rows)} transactions, at most {settings.max_message_transactions} "
                  "are accepted; split it (manna submit does)")
        return BatchResult([], [], [Rejection(i, "message:too_large", detail, raw) for i, raw in enumerate(rows)])
    accepted: list[Transaction] = []
    positions: list[int] = []
    rejected: list[Rejection] = []
    seen: set[str] = set()
    fast_rows = _compiled_rows(rows, settings) if compiled else [None] * len(rows)
    for index, (raw, fast) in enumerate(zip(rows, fast_rows, strict=True)):
        try:
            txn = fast or validate_row(raw, settings)
        except RowError as err:
            rejected.append(Rejection(index, err.reason, err.detail, raw, _raw_id(raw)))
            continue
        if txn.id in seen:
            detail = f"id {txn.id!r} appears earlier in this message"
            rejected.append(Rejection(index, "id:duplicate", detail, raw, txn.id))
            continue
        seen.add(txn.id)
        accepted.append(txn)
        positions.append(index)
    return BatchResult(accepted, positions, rejected)


def validate_row(raw: Any, settings: Settings) -> Transaction:
    """One row of the contract in ARCHITECTURE.md; raises ``RowError`` with a reason code."""
    raw = as_object(raw)
    return Transaction(
        id=_text(raw.get("id"), "id", required=True, max_length=_MAX_ID_LENGTH) or "",
        description=parse_description(raw.get("description"), settings.max_description_length),
        amount=parse_amount(raw.get("amount"), settings.max_abs_amount),
        currency=_currency(raw.get("currency"), settings.default_currency),
        date=_date(raw.get("date"), settings),
        account_id=_text(raw.get("account_id"), "account_id", max_length=_MAX_SHORT_FIELD),
        mcc=_mcc(raw.get("mcc")),
        counterparty=_text(raw.get("counterparty"), "counterparty", max_length=_MAX_SHORT_FIELD),
    )


def as_object(raw: Any) -> dict[str, Any]:
    """The row as a dict of fields; raises ``RowError`` for anything else, or for a reader's ``unreadable_row``."""
    if not isinstance(raw, dict):
        raise RowError("row:not_an_object", f"expected an object, got {type(raw).__name__}")
    if UNREADABLE in raw:
        info = raw[UNREADABLE]
        reason = info.get("reason") if isinstance(info, dict) else None
        detail = info.get("detail") if isinstance(info, dict) else None
        if not isinstance(detail, str) or "\x00" in detail or _has_lone_surrogate(detail):
            detail = "the input file reader could not read this row"
        raise RowError(reason if reason in READER_REASONS else "row:unreadable", detail[:500])
    return raw


def unreadable_row(reason: str, line: int, detail: str, raw: Any) -> dict[str, Any]:
    """A line a file reader could not turn into fields, in a JSON-safe form that validation rejects with ``reason``."""
    return {UNREADABLE: {"reason": reason, "line": line, "detail": f"line {line}: {detail}", "raw": raw}}


def parse_description(value: Any, max_length: int) -> str:
    """A required description, as validation accepts it; raises ``RowError`` (``description:<problem>``)."""
    if type(value) is str and value.isascii() and value.isprintable() and len(value) <= max_length and value.strip():
        return value  # the common case, without the calls of the general path
    return _text(value, "description", required=True, max_length=max_length) or ""


def _raw_id(raw: Any) -> str | None:
    """The id of a rejected row when it can be stored as text (the raw row keeps it either way)."""
    value = raw.get("id") if isinstance(raw, dict) else None
    if not isinstance(value, str) or "\x00" in value or _has_lone_surrogate(value):
        return None
    return value[:_MAX_ID_LENGTH]


def _text(value: Any, field: str, *, max_length: int, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise RowError(f"{field}:missing", f"{field} is required")
        return None
    if not isinstance(value, str):
        raise RowError(f"{field}:wrong_type", f"{field} must be a string, got {type(value).__name__}")
    if value.isascii() and value.isprintable():  # the common case: no NUL, surrogate or invisible character
        if required and not value.strip():
            raise RowError(f"{field}:empty", f"{field} is empty")
    else:
        if "\x00" in value or _has_lone_surrogate(value):
            raise RowError(f"{field}:invalid_characters", f"{field} holds a NUL or invalid code point")
        if required and not clean_text(value):  # blank once invisible characters are gone
            raise RowError(f"{field}:empty", f"{field} is empty")
    if len(value) > max_length:
        raise RowError(f"{field}:too_long", f"{field} has {len(value)} characters, max {max_length}")
    return value


def _has_lone_surrogate(value: str) -> bool:
    if value.isascii():
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def parse_amount(value: Any, max_abs: float) -> Decimal:
    """An amount by the grammar in the module docstring; raises ``RowError`` (``amount:<problem>``)."""
    if type(value) is str and _PLAIN_AMOUNT.fullmatch(value):  # the common case, at a third of the cost
        amount = Decimal(value)
        if amount.copy_abs() <= _limit(max_abs):
            return amount
    if value is None:
        raise RowError("amount:missing", "amount is required")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise RowError("amount:wrong_type", f"amount must be a number or decimal string, got {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise RowError("amount:not_finite", "amount must be finite")
    try:
        amount = _to_decimal(value)
    except InvalidOperation:
        raise RowError("amount:invalid", f"amount {str(value)[:40]!r} is not a decimal number") from None
    if not amount.is_finite():
        raise RowError("amount:not_finite", "amount must be finite")
    if amount.copy_abs() > _limit(max_abs):  # copy_abs: exact, cannot overflow like abs()
        raise RowError("amount:out_of_range", f"amount exceeds {max_abs:g} in absolute value")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -_MAX_DECIMALS:
        raise RowError("amount:too_precise", f"amount has more than {_MAX_DECIMALS} decimals")
    # A positive exponent ("1E+5", "0E+1000000") becomes plain digits, which NUMERIC columns accept.
    return amount.quantize(Decimal(1)) if isinstance(exponent, int) and exponent > 0 else amount


def _to_decimal(value: str | int | float) -> Decimal:
    """Exact for ints of any size (str() refuses over 4,300 digits), shortest repr for floats."""
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value))
    text = value.strip()
    if "_" in text:  # Decimal reads "1_000" as 1000; the contract does not
        raise InvalidOperation(value)
    if "," in text:
        if not _GROUPED_AMOUNT.fullmatch(text):
            raise InvalidOperation(value)
        text = text.replace(",", "")
    return Decimal(text)


_LIMITS: dict[float, Decimal] = {}  # a dict lookup, at a fifth of the cost of an lru_cache call


def _limit(max_abs: float) -> Decimal:
    limit = _LIMITS.get(max_abs)
    if limit is None:
        if len(_LIMITS) >= 8:
            _LIMITS.clear()
        limit = _LIMITS[max_abs] = Decimal(str(max_abs))
    return limit


def _currency(value: Any, default: str) -> str:
    if value is None:
        return default
    if not isinstance(value, str):
        raise RowError("currency:wrong_type", "currency must be a string")
    code = value.strip().upper()
    if code not in ISO_4217:
        raise RowError("currency:unknown", f"currency {value[:10]!r} is not an ISO 4217 code")
    return code


def _date(value: Any, settings: Settings) -> dt.date | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise RowError("date:wrong_type", "date must be an ISO date string")
    text = value.strip()
    try:
        if len(text) > 10 and text[10] not in "T ":  # a date, or the date of an ISO date-time
            raise ValueError(text)
        parsed = dt.date.fromisoformat(text[:10])
    except ValueError:
        raise RowError("date:invalid", f"date {value[:40]!r} is not an ISO date") from None
    earliest, latest = _date_bounds(settings.min_date, settings.max_future_days, dt.date.today())
    if not earliest <= parsed <= latest:
        raise RowError("date:out_of_range", f"date {parsed} is outside {earliest}..{latest}")
    return parsed


@lru_cache(maxsize=8)
def _date_bounds(min_date: str, max_future_days: int, today: dt.date) -> tuple[dt.date, dt.date]:
    return dt.date.fromisoformat(min_date), today + dt.timedelta(days=max_future_days)


def _mcc(value: Any) -> str | None:
    if value is None or value == "":
        return None
    small_int = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 9999
    text = str(value) if small_int else value
    if not isinstance(text, str) or not _MCC.fullmatch(text):
        raise RowError("mcc:invalid", "mcc must be four digits")
    return text


# The compiled fast path. Deliberately narrower than the Python checks above: a value it does not
# take becomes None and its row is validated by ``validate_row``, so it never decides a rejection.
_PRINTABLE = r"^[ -~]*$"  # ASCII printable: what str.isascii() and str.isprintable() both accept
_NONBLANK_PRINTABLE = r"^[ -~]*[!-~][ -~]*$"  # and not blank once stripped
_CURRENCY_SPELLINGS: dict[str | None, str] = {
    "".join(letters): code
    for code in ISO_4217
    for letters in itertools.product(*((c.lower(), c.upper()) for c in code))
}


def _compiled_rows(rows: list[Any], settings: Settings) -> list[Transaction | None]:
    """The ``Transaction`` of each row the compiled validator takes, None for the rest (one call per message)."""
    if not rows:
        return []
    validator = _compiled_validator(settings.max_description_length, settings.max_abs_amount,
                                    settings.default_currency, settings.min_date, settings.max_future_days,
                                    dt.date.today())
    # Only plain dicts reach it: a subclass or a reader's unreadable row is the Python path's to judge.
    eligible = [raw if type(raw) is dict and UNREADABLE not in raw else None for raw in rows]
    result: list[Transaction | None] = validator.validate_python(eligible)
    return result


@lru_cache(maxsize=8)
def _compiled_validator(max_description: int, max_abs: float, default_currency: str, min_date: str,
                        max_future_days: int, today: dt.date) -> SchemaValidator:
    """A list validator whose items are a ``Transaction`` or None (``on_error="default"``), for these settings."""
    limit = _limit(max_abs)
    earliest, latest = _date_bounds(min_date, max_future_days, today)

    def text(max_length: int, required: bool) -> cs.CoreSchema:
        schema = cs.str_schema(strict=True, max_length=max_length,
                               pattern=_NONBLANK_PRINTABLE if required else _PRINTABLE)
        return schema if required else cs.with_default_schema(cs.nullable_schema(schema), default=None)

    amount = cs.union_schema([
        cs.chain_schema([cs.str_schema(strict=True, pattern=rf"^{_PLAIN_AMOUNT.pattern}$"),
                         cs.decimal_schema(ge=-limit, le=limit)]),
        cs.no_info_after_validator_function(Decimal, cs.int_schema(strict=True, ge=-int(limit), le=int(limit))),
    ], mode="left_to_right")  # floats and other spellings: the Python path
    spellings = {**_CURRENCY_SPELLINGS, None: default_currency}
    currency = cs.no_info_after_validator_function(
        spellings.__getitem__, cs.nullable_schema(cs.literal_schema([code for code in _CURRENCY_SPELLINGS if code])))
    date = cs.chain_schema([cs.str_schema(strict=True, pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"),
                            cs.date_schema(ge=earliest, le=latest)])
    mcc = cs.union_schema([
        cs.str_schema(strict=True, pattern=rf"^{_MCC.pattern}$"),
        cs.no_info_after_validator_function(lambda _: None, cs.literal_schema([""])),
        cs.no_info_after_validator_function(str, cs.int_schema(strict=True, ge=1000, le=9999)),  # str(int) has 4 digits
    ], mode="left_to_right")
    schemas = {
        "id": text(_MAX_ID_LENGTH, True),
        "description": text(max_description, True),
        "amount": amount,
        "currency": cs.with_default_schema(currency, default=default_currency),
        "date": cs.with_default_schema(cs.nullable_schema(date), default=None),
        "account_id": text(_MAX_SHORT_FIELD, False),
        "mcc": cs.with_default_schema(cs.nullable_schema(mcc), default=None),
        "counterparty": text(_MAX_SHORT_FIELD, False),
    }
    names = [field.name for field in fields(Transaction)]
    args = cs.dataclass_args_schema("Transaction", [cs.dataclass_field(name, schemas[name]) for name in names],
                                    extra_behavior="ignore")
    row = cs.dataclass_schema(Transaction, args, names, slots=True, frozen=True)
    return SchemaValidator(cs.list_schema(cs.with_default_schema(row, default=None, on_error="default")))
