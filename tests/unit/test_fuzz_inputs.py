"""Property tests of the input boundary: row validation, SQLite storage of a message, input files.

Every payload here is hostile on purpose: wrong types, missing and extra fields, huge strings,
control, bidi and zero-width characters, lone surrogates, non-finite and huge amounts, bad dates.
"""

from __future__ import annotations

import codecs
import datetime as dt
import json
import re
import tempfile
import uuid
from decimal import Decimal
from pathlib import Path
from unittest.mock import ANY

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from db.engine import session_scope
from db.jobs import RAW_LIMIT, record_batch
from db.models import Job, RejectedTransaction, TransactionRow
from pipeline.currencies import ISO_4217
from pipeline.readers import read_rows
from pipeline.schema import (
    READER_REASONS,
    UNREADABLE,
    RowError,
    Transaction,
    as_object,
    parse_amount,
    validate_batch,
)
from pipeline.settings import Settings

SETTINGS = Settings()
REASON = re.compile(r"^[a-z_]+:[a-z_]+$")
PLAIN_AMOUNT = re.compile(r"-?\d{1,16}(\.\d{1,4})?")  # what NUMERIC(20, 4) and COPY read back unchanged
REQUIRED = ["id", "description", "amount"]
FIELDS = ["id", "description", "amount", "currency", "date", "account_id", "mcc", "counterparty"]
BIG_INT = 10**5000  # more digits than str(int) may print (sys.get_int_max_str_digits)

# Characters that break naive code: controls, bidi and zero-width marks, BOM, lone surrogates,
# separators that str.splitlines() knows and files do not, SQL and CSV metacharacters.
NASTY_CHARS = ["\x00", "\x01", "\x07", "\x1b", "\x7f", "\x85", "\t", "\n", "\r", "\x0b", "\x0c", "\u200b",
               "\u200d", "\u200e", "\u200f", "\u202e", "\u2066", "\u2028", "\u2029", "\ufeff", "\ufffd",
               "\ud800", "\udfff", "\U0001f600", "\u0661", "\uff15", "'", '"', "\\", ";", "%", "_", ",", "-"]
NASTY_STRINGS = ["", " ", "\u200b", "\u3000", "'; DROP TABLE labels; --", "Robert'); DROP TABLE transactions;--",
                 "\" OR 1=1 --", "\\N", "a\\tb\\nc", "tab\there", "line\nbreak", "cr\rlf\r\n", "%s %(x)s {0}",
                 "\u202eRIGHT-TO-LEFT", "\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627",
                 "x" * 513, "\u00e9" * 5_000, "z" * 200_000]

nasty_text = st.one_of(
    st.sampled_from(NASTY_STRINGS),
    st.text(alphabet=st.one_of(st.characters(), st.sampled_from(NASTY_CHARS)), max_size=40),
)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), nasty_text)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(nasty_text, inner, max_size=3), max_leaves=6)
# A few values JSON transport cannot carry (json.loads refuses ints this long) but a caller in-process can.
python_only = st.sampled_from([BIG_INT, -BIG_INT, (1, 2), b"bytes", {1, 2}, Decimal("1.5"), Decimal("NaN")])

amounts = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.floats(),
    st.floats().map(repr),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from([float("nan"), float("inf"), float("-inf"), 1e308, -1e308, -0.0, 5e-324, 2**63, -(2**63) - 1,
                     10**4299, "NaN", "-nan", "sNaN", "Infinity", "-Infinity", "inf", "1e308", "-0.0", "-0",
                     "1e1000000", "-1E+999999999", "0E+1000000", "0e+1001", "1E+5", "-2.5E+3", "1e-1000000",
                     "1_000", " 12.50 ", "\u0661\u0662\u0663", "12,50", "$5", "0x10", "1.00001", "999999999.9999",
                     "1000000000", "1000000000.0001", "9" * 5_000]),
)
dates = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat()),
    st.sampled_from(["2026-02-30", "2026-13-01", "0000-01-01", "0001-01-01", "9999-12-31", "99999-01-01",
                     "2026-1-1", "20260101", "2026-01-01T25:00", "2026-01-01junk", " 2026-01-01 ", "1969-12-31",
                     "\u0662\u0660\u0662\u0666-01-01", "\uff12\uff10\uff12\uff16-01-01", "2026-W01-1", ""]),
)
mccs = st.one_of(st.integers(min_value=-10, max_value=12_000), st.from_regex(r"\d{1,5}", fullmatch=True),
                 st.sampled_from(["5814", "5814\n", "\uff15\uff18\uff11\uff14", "\u0665\u0668\u0661\u0664", "58 4"]))
# Plausible values: valid or nearly so, still full of quotes, controls, bidi and zero-width marks.
storable_chars = [c for c in NASTY_CHARS if c != "\x00" and not "\ud800" <= c <= "\udfff"]
storable_text = st.text(alphabet=st.one_of(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]),
                                           st.sampled_from(storable_chars)), max_size=30)
plain_amounts = st.decimals(min_value=-(10**9), max_value=10**9, places=4)
plausible = {
    "id": st.one_of(st.sampled_from(["t1", "t2", "t3"]), storable_text.filter(str.strip)),
    "description": st.one_of(st.sampled_from(NASTY_STRINGS[4:15]), storable_text.filter(str.strip)),
    "amount": st.one_of(plain_amounts.map(str), plain_amounts.map(float), st.integers(-(10**9), 10**9)),
    "currency": st.sampled_from(["USD", "usd", " eur ", "\u0131nr"]),  # dotless i upper-cases to I
    "date": st.dates(min_value=dt.date(1970, 1, 1), max_value=dt.date(2026, 1, 1)).map(lambda d: d.isoformat()),
    "account_id": storable_text, "mcc": st.sampled_from(["5814", 5814, "0001"]), "counterparty": storable_text,
}
hostile = {
    "id": st.one_of(nasty_text, st.text(min_size=1, max_size=130), st.sampled_from(NASTY_CHARS).map("tx{}".format)),
    "description": nasty_text, "amount": amounts,
    "currency": st.sampled_from(["XXQ", "US", "", "\u200bUSD", "\uff35\uff33\uff24"]), "date": dates,
    "account_id": nasty_text, "mcc": mccs, "counterparty": nasty_text,
}


def rows_strategy(junk: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    """A row: a dict with the required fields and any optional ones, each value mostly plausible, sometimes
    hostile or junk, plus extra keys; or a dict with any subset of the fields; or not a dict at all."""
    def field(name: str, plausible_weight: int) -> st.SearchStrategy[object]:
        return weighted((plausible[name], plausible_weight), (hostile[name], 1), (junk, 1))

    extras = st.dictionaries(nasty_text, junk, max_size=2)
    full = st.fixed_dictionaries({name: field(name, 10) for name in REQUIRED},
                                 optional={name: field(name, 6) for name in FIELDS if name not in REQUIRED})
    partial = st.fixed_dictionaries({}, optional={name: field(name, 1) for name in FIELDS})
    dict_rows = st.builds(lambda row, extra: {**extra, **row}, weighted((full, 3), (partial, 1)), extras)
    return weighted((dict_rows, 4), (junk, 1))


def weighted(*choices: tuple[st.SearchStrategy[object], int]) -> st.SearchStrategy[object]:
    """Draw from each strategy in proportion to its weight (st.one_of does not count repeats)."""
    return st.sampled_from([s for s, weight in choices for _ in range(weight)]).flatmap(lambda s: s)


hostile_rows = rows_strategy(st.one_of(json_values, python_only))
json_rows = rows_strategy(json_values)


@given(payload=st.one_of(json_scalars, st.dictionaries(nasty_text, json_values, max_size=3), python_only,
                         st.tuples(json_values)))
@settings(max_examples=100, deadline=None)
def test_a_payload_that_is_not_a_list_raises_row_error(payload: object) -> None:
    with pytest.raises(RowError) as raised:
        validate_batch(payload, SETTINGS)
    assert raised.value.reason == "transactions:not_a_list"


@given(rows=st.lists(hostile_rows, max_size=12))
@settings(max_examples=300, deadline=None)
@example(rows=[{"id": "a", "description": "d", "amount": BIG_INT}])
@example(rows=[{"id": "a", "description": "d", "amount": "1e1000000"}])
@example(rows=[{"id": "a", "description": "d", "amount": 1, "mcc": BIG_INT}])
@example(rows=[{"id": "a", "description": "d", "amount": 1, "mcc": "5814\n"}])
@example(rows=[{"id": "a", "description": "d", "amount": "0E+1000000"}])
@example(rows=[{"id": "a\ud800", "description": "d"}, {"id": "b\x00", "amount": 1}])
def test_every_row_is_accepted_or_rejected_once_with_a_reason(rows: list[object]) -> None:
    result = validate_batch(rows, SETTINGS)

    assert len(result.accepted) + len(result.rejected) == len(rows)
    assert len(result.positions) == len(result.accepted)
    indexes = result.positions + [r.row_index for r in result.rejected]
    assert sorted(indexes) == list(range(len(rows)))
    for rejection in result.rejected:
        assert REASON.match(rejection.reason), rejection.reason
        assert rejection.raw is rows[rejection.row_index]
        assert _storable(rejection.detail)
        tid = rejection.transaction_id
        assert tid is None or (_storable(tid) and len(tid) <= 128), "transaction_id must fit its column"

    assert len({t.id for t in result.accepted}) == len(result.accepted)
    limit = Decimal(str(SETTINGS.max_abs_amount))
    for position, txn in zip(result.positions, result.accepted, strict=True):
        assert isinstance(rows[position], dict) and rows[position].get("id") == txn.id
        assert isinstance(txn.amount, Decimal) and txn.amount.is_finite() and txn.amount.copy_abs() <= limit
        assert PLAIN_AMOUNT.fullmatch(txn.to_message()["amount"]), txn.to_message()["amount"]
        assert Transaction.from_message(json.loads(json.dumps(txn.to_message()))) == txn
        assert _storable(txn.id) and 0 < len(txn.id) <= 128 and txn.description.strip()
        assert _storable(txn.description) and len(txn.description) <= SETTINGS.max_description_length
        assert txn.currency in ISO_4217
        assert txn.mcc is None or re.fullmatch(r"[0-9]{4}", txn.mcc), repr(txn.mcc)
        for short in (txn.account_id, txn.counterparty):
            assert short is None or (_storable(short) and len(short) <= 256)


def _storable(text: str) -> bool:
    """Text that SQLite (UTF-8) and PostgreSQL (no NUL) both store."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


good_rows = st.fixed_dictionaries(
    {"id": st.one_of(st.uuids().map(str), st.text(alphabet=st.sampled_from("'\";\\\t\n %_-x\u202e\u00e9"),
                                                   min_size=1, max_size=20)),
     "description": st.one_of(st.sampled_from(NASTY_STRINGS[4:15]), nasty_text).filter(
         lambda s: s.strip() and _storable(s) and len(s) <= SETTINGS.max_description_length),
     "amount": st.decimals(min_value=-(10**9), max_value=10**9, places=2).map(str)},
    optional={"currency": st.sampled_from(["EUR", "jpy"]), "date": st.just("2024-02-29"),
              "account_id": nasty_text, "counterparty": nasty_text, "mcc": st.just("5814")},
)


# A good row with one field made hostile: a rejection whose other fields (and id) look sane.
broken_rows = st.builds(lambda row, change: {**row, change[0]: change[1]}, good_rows,
                        st.sampled_from(FIELDS).flatmap(lambda name: st.tuples(st.just(name), hostile[name])))


@given(rows=st.lists(weighted((good_rows, 2), (broken_rows, 1), (json_rows, 1)), max_size=8))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(rows=[{"id": "x'; DROP TABLE labels; --", "description": "'; DROP TABLE labels; --", "amount": "1"},
               {"id": "a\ud800", "description": "d"}, {"id": "b\x00", "description": "d", "amount": 1}])
def test_record_batch_stores_rows_verbatim_once(sqlite_settings: Settings, rows: list[object]) -> None:
    batch = validate_batch(rows, sqlite_settings)
    job_id, source = f"job-{uuid.uuid4().hex}", uuid.uuid4().hex  # the database outlives one example
    url = sqlite_settings.effective_database_url

    def record() -> tuple[list[str], bool]:
        with session_scope(url) as session:
            fresh, new = record_batch(session, job_id=job_id, source=source, batch_key="k", accepted=batch.accepted,
                                      positions=batch.positions, rejected=batch.rejected, callback=None,
                                      chunk_size=3)
        return [t.id for t in fresh], new

    def stored() -> tuple[dict[str, TransactionRow], list[RejectedTransaction], Job]:
        with session_scope(url) as session:
            txns = session.scalars(select(TransactionRow).where(TransactionRow.source == source)).all()
            rejected = session.scalars(select(RejectedTransaction).where(RejectedTransaction.job_id == job_id)
                                       .order_by(RejectedTransaction.row_index)).all()
            return {t.transaction_id: t for t in txns}, list(rejected), session.get_one(Job, job_id)

    fresh, new = record()
    assert new and fresh == [t.id for t in batch.accepted]
    txns, rejected, job = stored()
    assert sorted(txns) == sorted(fresh)
    for txn in batch.accepted:
        row = txns[txn.id]
        assert row.description == txn.description
        assert (row.account_id, row.counterparty, row.mcc) == (txn.account_id, txn.counterparty, txn.mcc)
        assert (row.currency, row.date, row.amount) == (txn.currency, txn.date, txn.amount)
    assert [r.row_index for r in rejected] == sorted(r.row_index for r in batch.rejected)
    by_index = {r.row_index: r for r in batch.rejected}
    for row in rejected:
        expected = by_index[row.row_index]
        assert (row.reason, row.transaction_id, row.detail) == (expected.reason, expected.transaction_id,
                                                                expected.detail)
        raw = json.dumps(expected.raw, default=str, ensure_ascii=True)
        assert row.raw == (raw if len(raw) <= RAW_LIMIT else raw[:RAW_LIMIT] + "...[truncated]")
    assert (job.received, job.accepted, job.rejected) == (len(rows), len(fresh), len(rejected))

    again, new_again = record()
    assert not new_again and again == fresh
    with session_scope(url) as session:
        counts = [session.scalar(select(func.count()).select_from(model).where(model.job_id == job_id))
                  for model in (TransactionRow, RejectedTransaction)]
        job_again = session.get_one(Job, job_id)
    assert counts == [len(fresh), len(rejected)]
    assert (job_again.messages, job_again.received, job_again.rejected) == (1, len(rows), len(rejected))


LINE_PIECES = [b"\n", b"\r\n", b"\r", b"\xef\xbb\xbf", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00", b" \t\x0b\x0c",
               "\u2028\x85\u3000".encode(), b"{}", b'{"id": "t1", "amount": 1.5}', b"[1, 2]", b'"text"', b"-0.0",
               b"NaN", b"Infinity", b"null", b"true", b"1e400", b"{", b"]", b'"\\ud800"', b"1" * 5_000,
               b"[" * 100_000, b'a,"b', b'"', b'""', b",", b"id,description,amount", b"x" * 140_000]
file_bytes = st.one_of(st.binary(max_size=400),
                       st.lists(st.one_of(st.sampled_from(LINE_PIECES), st.binary(max_size=8)), max_size=16)
                       .map(b"".join))


@given(data=file_bytes)
@settings(max_examples=200, deadline=None)
@example(data=b"1" * 5_000 + b"\n")
@example(data=b"[" * 100_000 + b"\n")
@example(data=b'id,description\n"' + b"x" * 140_000 + b'"\n1,2\n')
def test_read_rows_never_raises_and_yields_one_item_per_jsonl_line(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        jsonl, csv_file = Path(folder, "in.jsonl"), Path(folder, "in.csv")
        jsonl.write_bytes(data)
        csv_file.write_bytes(data)
        items = list(read_rows(jsonl))
        csv_items = list(read_rows(csv_file))

    encoding = "utf-16" if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else "utf-8-sig"  # BOM skipped
    text = data.decode(encoding, errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    lines = [(number, line) for number, line in enumerate(text.split("\n"), start=1) if line.strip()]
    assert len(items) == len(lines)
    for (number, line), item in zip(lines, items, strict=True):
        parsed = _json_or_none(line)
        assert isinstance(item, dict | list | str | int | float | bool | None)
        if parsed is None:  # passed on with the reason and the line, for validation to reject
            assert item == {UNREADABLE: {"reason": "row:invalid_json", "line": number, "detail": ANY, "raw": line}}
        else:
            assert json.dumps(item) == json.dumps(parsed[0])  # NaN-safe equality
    for item in csv_items:
        assert isinstance(item, dict)
        if UNREADABLE in item:
            assert item[UNREADABLE]["reason"] in READER_REASONS
            assert item[UNREADABLE]["detail"].startswith(f"line {item[UNREADABLE]['line']}: ")
        else:
            assert all(isinstance(key, str) and (value is None or isinstance(value, str))
                       for key, value in item.items())
    for rejection in validate_batch([*items, *csv_items], Settings(max_message_transactions=10_000)).rejected:
        assert REASON.match(rejection.reason) and rejection.reason != "row:unreadable"
        assert _storable(rejection.detail)


def _json_or_none(line: str) -> tuple[object] | None:
    try:
        return (json.loads(line),)
    except (ValueError, RecursionError):
        return None


def test_a_csv_record_over_the_field_limit_is_rejected_with_its_line_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(b'id,description\n"' + b"x" * 140_000 + b'",a\nt2,ok\n')
    rows = list(read_rows(path))
    assert len(rows) == 2 and rows[1] == {"id": "t2", "description": "ok"}
    with pytest.raises(RowError) as raised:
        as_object(rows[0])
    assert raised.value.reason == "row:invalid_csv" and raised.value.detail.startswith("line 2: field larger")


@given(amount=st.decimals(min_value=-(10**9), max_value=10**9, places=2))
@settings(max_examples=200, deadline=None)
@example(amount=Decimal("1234.50"))
@example(amount=Decimal("-1000000"))
def test_an_amount_with_thousands_separators_reads_as_the_plain_one(amount: Decimal) -> None:
    limit = SETTINGS.max_abs_amount
    assert str(parse_amount(f" {amount:,} ", limit)) == str(parse_amount(str(amount), limit))


@given(text=st.one_of(st.from_regex(r"[+-]?[0-9]{1,6},[0-9]{1,2}(\.[0-9]{1,2})?", fullmatch=True),
                      st.from_regex(r"[+-]?[0-9]{4,6}(,[0-9]{3})+(\.[0-9]{1,2})?", fullmatch=True),
                      st.from_regex(r"[+-]?[0-9]{1,3}(,[0-9]{3})*,[0-9]{4,5}", fullmatch=True),
                      st.from_regex(r"[0-9]{1,3}\.[0-9]{3},[0-9]{2}", fullmatch=True)))
@settings(max_examples=200, deadline=None)
@example(text="1,50")
@example(text="12,34")
@example(text="1.234,50")
def test_a_comma_that_could_be_a_decimal_comma_is_invalid(text: str) -> None:
    with pytest.raises(RowError) as raised:
        parse_amount(text, SETTINGS.max_abs_amount)
    assert raised.value.reason == "amount:invalid"
