"""One reader and one amount parser for submit, train, predict and evaluate: what trains also serves.

A CSV row with more or fewer fields than its header is a rejected row with a reason and its line,
never shifted into its neighbours' columns; ``1,234.50`` is the same amount everywhere, and an
ambiguous ``1,50`` is ``amount:invalid`` everywhere.
"""

from __future__ import annotations

import csv
import json
import tempfile
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from db.engine import session_scope
from db.jobs import record_batch
from db.models import RejectedTransaction
from pipeline.generate import Generator
from pipeline.offline import PREDICTION_COLUMNS, predict_file, read_labeled, skipped_summary, train_file
from pipeline.readers import read_rows, write_rows
from pipeline.schema import RowError, parse_amount, unreadable_row, validate_batch
from pipeline.settings import Settings

SETTINGS = Settings()
# t2 has an unquoted comma in its description (one field too many), t4 lost a comma (one too few).
SHIFTY_CSV = """id,description,amount,category
t1,STARBUCKS STORE 1234,-4.50,food.coffee
t2,ACME, INC PAYROLL,"2,000.00",income.salary
t3,WHOLE FOODS MARKET,-52.10,groceries.supermarkets
t4,SHELL OIL 5744 -40.00,transport.fuel

t5,BARNES & NOBLE #2231,-12.00,shopping.books
"""


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("readers")
    rows = Generator(11).rows(600)  # any model will do: these tests compare predictions, not accuracy
    for row in rows:
        row.pop("merchant")
    write_rows(base / "train.csv", rows)
    train_file(base / "train.csv", base / "model")
    return base / "model"


def _grouped(amount: str) -> str:
    return f"{Decimal(amount):,}"


def _predictions(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_grouped_amounts_train_predict_and_validate_as_the_same_numbers(model_dir: Path, tmp_path: Path) -> None:
    rows = Generator(12).rows(400)
    for row in rows:
        row.pop("merchant")
    big = [row for row in rows if abs(Decimal(row["amount"])) >= 1000]
    assert len(big) >= 5, "the generator should give some amounts of four digits"
    grouped = [{**row, "amount": _grouped(row["amount"])} for row in rows]
    assert any("," in row["amount"] for row in grouped)
    write_rows(tmp_path / "grouped.csv", grouped)
    write_rows(tmp_path / "plain.csv", rows)

    served = validate_batch(list(read_rows(tmp_path / "grouped.csv")), Settings(max_message_transactions=400))
    assert served.rejected == [] and [t.amount for t in served.accepted] == [Decimal(r["amount"]) for r in rows]
    trained = read_labeled(tmp_path / "grouped.csv")
    assert trained.reasons == Counter() and trained.amounts == [float(t.amount) for t in served.accepted]
    assert trained == read_labeled(tmp_path / "plain.csv")
    predict_file(model_dir, tmp_path / "grouped.csv", tmp_path / "grouped_out.csv")
    predict_file(model_dir, tmp_path / "plain.csv", tmp_path / "plain_out.csv")
    predicted = _predictions(tmp_path / "grouped_out.csv")
    assert not [p for p in predicted if p["decided_by"] == "rejected"]
    assert predicted == _predictions(tmp_path / "plain_out.csv")  # the amount is a feature: same numbers read
    train_file(tmp_path / "grouped.csv", tmp_path / "model")  # and a model trains on the file as it is


@pytest.mark.parametrize(("text", "amount"), [("1,234.50", "1234.50"), ("-12,000", "-12000"), (" +1,000,000.5 ",
                                              "1000000.5"), ("-4.50", "-4.50"), ("1234.5", "1234.5")])
def test_the_amount_grammar_accepts_plain_and_comma_grouped_decimals(text: str, amount: str) -> None:
    assert str(parse_amount(text, SETTINGS.max_abs_amount)) == amount


@pytest.mark.parametrize("text", ["1,50", "12,34", "1,2345", "1234,567", ",123", "1,,234", "1.234,50", "1,234,5",
                                  "1,234.", "$1,234.50"])
def test_an_ambiguous_comma_is_amount_invalid_everywhere(model_dir: Path, tmp_path: Path, text: str) -> None:
    with pytest.raises(RowError) as raised:
        parse_amount(text, SETTINGS.max_abs_amount)
    assert raised.value.reason == "amount:invalid"
    path = tmp_path / "ambiguous.csv"
    write_rows(path, [{"id": "a1", "description": "STARBUCKS STORE 1234", "amount": text, "category": "food.coffee"},
                      {"id": "a2", "description": "WHOLE FOODS MARKET", "amount": "-52.10",
                       "category": "groceries.supermarkets"}])
    assert [r.reason for r in validate_batch(list(read_rows(path)), SETTINGS).rejected] == ["amount:invalid"]
    assert read_labeled(path).reasons == Counter({"amount:invalid": 1})
    predict_file(model_dir, path, tmp_path / "out.csv")
    first, second = _predictions(tmp_path / "out.csv")
    assert (first["id"], first["decided_by"], first["reason"]) == ("a1", "rejected", "amount:invalid")
    assert second["decided_by"] != "rejected" and second["reason"] == ""


def test_extra_and_missing_fields_are_rejected_with_their_line_in_submit(sqlite_settings: Settings,
                                                                          tmp_path: Path) -> None:
    path = tmp_path / "shifty.csv"
    path.write_text(SHIFTY_CSV)
    rows = list(read_rows(path))
    assert len(rows) == 5
    batch = validate_batch(rows, sqlite_settings)
    assert [(r.row_index, r.reason) for r in batch.rejected] == [(1, "row:extra_fields"), (3, "row:missing_fields")]
    assert batch.rejected[0].detail == "line 3: 5 fields, the header has 4"
    assert batch.rejected[1].detail == "line 5: 3 fields, the header has 4"
    assert [(t.id, t.description, t.amount) for t in batch.accepted] == [
        ("t1", "STARBUCKS STORE 1234", Decimal("-4.50")), ("t3", "WHOLE FOODS MARKET", Decimal("-52.10")),
        ("t5", "BARNES & NOBLE #2231", Decimal("-12.00"))]
    with session_scope(sqlite_settings.effective_database_url) as session:
        record_batch(session, job_id="shifty", source="s", batch_key="k", accepted=batch.accepted,
                     positions=batch.positions, rejected=batch.rejected, callback=None, chunk_size=10)
    with session_scope(sqlite_settings.effective_database_url) as session:
        stored = session.query(RejectedTransaction).filter_by(job_id="shifty").order_by("row_index").all()
        assert [(r.row_index, r.reason) for r in stored] == [(1, "row:extra_fields"), (3, "row:missing_fields")]
        assert json.loads(stored[0].raw)["_unreadable"]["raw"] == ["t2", "ACME", " INC PAYROLL", "2,000.00",
                                                                   "income.salary"]


def test_extra_and_missing_fields_are_skipped_by_reason_in_training(tmp_path: Path) -> None:
    path = tmp_path / "shifty.csv"
    path.write_text(SHIFTY_CSV)
    labeled = read_labeled(path)
    assert labeled.reasons == Counter({"row:extra_fields": 1, "row:missing_fields": 1}) and labeled.dropped == 2
    assert labeled.descriptions == ["STARBUCKS STORE 1234", "WHOLE FOODS MARKET", "BARNES & NOBLE #2231"]
    assert labeled.amounts == [-4.5, -52.1, -12.0]
    assert labeled.labels == ["food.coffee", "groceries.supermarkets", "shopping.books"]
    assert skipped_summary(labeled.reasons) == "2 rows skipped: row:extra_fields 1, row:missing_fields 1"


def test_extra_and_missing_fields_are_rejected_in_predict_and_neighbours_keep_their_values(
        model_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "shifty.csv"
    path.write_text(SHIFTY_CSV)
    assert predict_file(model_dir, path, tmp_path / "out.csv") == 5
    predicted = _predictions(tmp_path / "out.csv")
    assert [p["id"] for p in predicted] == ["t1", "2", "t3", "4", "t5"]  # unreadable rows: their row number
    assert [(p["decided_by"], p["reason"]) for p in predicted if p["decided_by"] == "rejected"] == [
        ("rejected", "row:extra_fields"), ("rejected", "row:missing_fields")]
    assert predicted[1]["explanation"].startswith("line 3:") and predicted[3]["explanation"].startswith("line 5:")
    clean = tmp_path / "clean.csv"
    clean.write_text("".join(line + "\n" for i, line in enumerate(SHIFTY_CSV.splitlines()) if i in (0, 1, 3, 6)))
    predict_file(model_dir, clean, tmp_path / "clean_out.csv")
    assert [p for p in predicted if p["decided_by"] != "rejected"] == _predictions(tmp_path / "clean_out.csv")


def test_a_quote_left_open_costs_its_own_line_only(model_dir: Path, tmp_path: Path) -> None:
    """A stray quote would make every line up to the file's next quote one field: 30 rows of these 300 were lost."""
    rows = Generator(12).rows(300)
    rows[40]["description"] = "ACME, INC PAYROLL"  # a quoted field further on, where csv.reader would close it
    write_rows(tmp_path / "clean.csv", rows)
    lines = (tmp_path / "clean.csv").read_text().splitlines(keepends=True)
    description = rows[10]["description"]
    lines[11] = lines[11].replace(f",{description},", f',"{description},')
    (tmp_path / "stray.csv").write_text("".join(lines))

    assert predict_file(model_dir, tmp_path / "stray.csv", tmp_path / "out.csv") == 300
    predicted = _predictions(tmp_path / "out.csv")
    predict_file(model_dir, tmp_path / "clean.csv", tmp_path / "clean_out.csv")
    clean = _predictions(tmp_path / "clean_out.csv")
    assert (predicted[10]["decided_by"], predicted[10]["reason"]) == ("rejected", "row:invalid_csv")
    assert predicted[10]["explanation"].startswith("line 12: a quote opened on this line runs over the next 30 line(s)")
    assert predicted[:10] + predicted[11:] == clean[:10] + clean[11:]
    labeled = read_labeled(tmp_path / "stray.csv")
    assert labeled.reasons == Counter({"row:invalid_csv": 1}) and len(labeled.labels) == 299


def test_a_quoted_field_may_span_lines(tmp_path: Path) -> None:
    path = tmp_path / "memo.csv"
    path.write_text('description,amount,category\n"BLUE BOTTLE\nOAKLAND",-4.50,coffee\n"A, B\nC\nD",-1,x\n'
                    '"A\nLONDON, UK,\nB",-1,x\nZ,-2,y\n')  # a line inside that looks like a record: still one field
    assert read_labeled(path).descriptions == ["BLUE BOTTLE\nOAKLAND", "A, B\nC\nD", "A\nLONDON, UK,\nB", "Z"]


def test_a_quote_left_open_does_not_take_the_next_row_even_when_the_fields_add_up(tmp_path: Path) -> None:
    # The stray quote pairs with the next row's opening quote: three fields, as the header has.
    path = tmp_path / "rows.csv"
    path.write_text('description,amount,category\n"ACME,-4.50,coffee\n"BLUE BOTTLE",-3,coffee\n')
    labeled = read_labeled(path)
    assert labeled.descriptions == ["BLUE BOTTLE"] and labeled.reasons == Counter({"row:invalid_csv": 1})


@pytest.mark.parametrize(("key", "expected"), [("id", ["x9", "x8", "3"]), ("transaction_id", ["x9", "x8", "3"]),
                                               (None, ["1", "2", "3"])])
def test_predict_output_starts_with_an_id(model_dir: Path, tmp_path: Path, key: str | None,
                                          expected: list[str]) -> None:
    rows = [{"description": "STARBUCKS STORE 1234", "amount": "-4.50"},
            {"description": "WHOLE FOODS MARKET", "amount": "-52.10"}, {"description": "SHELL OIL", "amount": "-1"}]
    if key:
        rows[0][key], rows[1][key], rows[2][key] = "x9", "x8", ""
    write_rows(tmp_path / "in.csv", rows)
    predict_file(model_dir, tmp_path / "in.csv", tmp_path / "out.csv")
    predicted = _predictions(tmp_path / "out.csv")
    assert tuple(predicted[0]) == PREDICTION_COLUMNS and PREDICTION_COLUMNS[0] == "id"
    assert [p["id"] for p in predicted] == expected


def test_json_lines_predict_and_train_through_the_same_reader(model_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"transaction_id": 7, "description": "STARBUCKS STORE 1234", "amount": -4.5}\n'
                    "{not json\n\n"
                    '["a list"]\n'
                    '{"description": "WHOLE FOODS MARKET", "amount": "1,052.10", "category": "groceries"}\n')
    predict_file(model_dir, path, tmp_path / "out.csv")
    predicted = _predictions(tmp_path / "out.csv")
    assert [(p["id"], p["reason"]) for p in predicted] == [
        ("7", ""), ("2", "row:invalid_json"), ("3", "row:not_an_object"), ("4", "")]
    assert predicted[1]["explanation"].startswith("line 2: not JSON")
    labeled = read_labeled(path)
    assert labeled.amounts == [1052.1] and labeled.labels == ["groceries"]
    assert labeled.reasons == Counter({"category:missing": 1, "row:invalid_json": 1, "row:not_an_object": 1})


UNCLOSED = "a quote left open"


def _unclosed_as_one(row: object) -> object:
    """``row`` with the detail of a quote left open (which says how many lines it ran over) as ``UNCLOSED``."""
    if isinstance(row, dict) and "a quote opened on this line" in str(row.get("_unreadable", {}).get("detail")):
        return unreadable_row("row:invalid_csv", row["_unreadable"]["line"], UNCLOSED, None)
    return row


def _pairs(lines: list[str]) -> bool:
    """Whether a record's quotes pair as CSV's do (csv's strict mode reads it)."""
    try:
        next(csv.reader(lines, strict=True))
    except csv.Error:
        return False
    return True


def _read_csv_as_csv_reader_does(path: Path) -> list[object]:
    """The CSV reader's specification: every record through csv.reader (what it did before its fast path),
    except that a record of several lines that is a quote left open costs its first line only."""
    from pipeline.readers import _blank, _open_text

    with _open_text(path, newline="") as handle:
        lines = handle.readlines()
    rows: list[object] = []
    header: list[str] | None = None
    at = 0  # lines read
    while at < len(lines):
        reader = csv.reader(iter(lines[at:]))
        try:
            record: list[str] | csv.Error = next(reader)
        except csv.Error as err:
            record = err
        start, taken, at = at + 1, lines[at + 1: at + reader.line_num], at + reader.line_num
        if header is not None and taken and (isinstance(record, csv.Error) or len(record) != len(header)
                                             or not _pairs(lines[start - 1: at])):
            rows.append(unreadable_row("row:invalid_csv", start, UNCLOSED, None))
            at = start  # the next line is read on its own
        elif isinstance(record, csv.Error):
            rows.append(unreadable_row("row:invalid_csv", start, str(record), None))
        elif header is not None and len(record) == len(header):
            rows.append({name: value or None for name, value in zip(header, record, strict=True)})
        elif not _blank(record) and header is None:
            header = [name.strip() for name in record]
        elif not _blank(record):
            kind = "extra" if len(record) > len(header or []) else "missing"
            rows.append(unreadable_row(f"row:{kind}_fields", start,
                                       f"{len(record)} fields, the header has {len(header or [])}", record))
    return rows


@settings(max_examples=400, deadline=None)
@given(pieces=st.lists(st.sampled_from(["a", "b,", ",", '"', "\n", "\r", "\r\n", " ", "\x00", "é"]), max_size=30),
       header=st.sampled_from(["description,amount\n", "description\n", ""]), limit=st.sampled_from([131_072, 4]))
def test_csv_records_are_read_as_csv_reader_reads_them(pieces: list[str], header: str, limit: int) -> None:
    """Lines split on commas where they can be, csv.reader elsewhere: the same rows, errors and line numbers."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rows.csv"
        path.write_bytes((header + "".join(pieces)).encode())
        before = csv.field_size_limit(limit)  # a small limit sends long lines through csv.reader too
        try:
            assert [_unclosed_as_one(row) for row in read_rows(path)] == _read_csv_as_csv_reader_does(path)
        finally:
            csv.field_size_limit(before)
