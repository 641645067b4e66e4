"""The transaction contract: good rows accepted as typed values, bad rows rejected with a reason."""

from decimal import Decimal

import pytest

from pipeline.schema import Transaction, validate_batch, validate_row
from pipeline.settings import Settings

SETTINGS = Settings()
GOOD = {"id": "t1", "description": "SQ *BLUE BOTTLE #12 SF CA", "amount": "-4.50", "currency": "usd",
        "date": "2026-10-03", "account_id": "acct-1", "mcc": "5814"}


def test_good_row_is_typed_and_round_trips_through_a_message():
    txn = validate_row(GOOD, SETTINGS)
    assert txn.amount == Decimal("-4.50") and txn.currency == "USD" and txn.date.isoformat() == "2026-10-03"
    assert Transaction.from_message(txn.to_message()) == txn


def test_optional_fields_take_defaults():
    txn = validate_row({"id": "t2", "description": "x", "amount": 3}, SETTINGS)
    assert txn.currency == SETTINGS.default_currency and txn.date is None and txn.mcc is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"description": None}, "description:missing"),
        ({"description": "   "}, "description:empty"),
        ({"description": "\u200b\u200e"}, "description:empty"),
        ({"description": "x" * 10_000}, "description:too_long"),
        ({"description": 12}, "description:wrong_type"),
        ({"description": "a\x00b"}, "description:invalid_characters"),
        ({"id": None}, "id:missing"),
        ({"id": 7}, "id:wrong_type"),
        ({"amount": "abc"}, "amount:invalid"),
        ({"amount": None}, "amount:missing"),
        ({"amount": True}, "amount:wrong_type"),
        ({"amount": [1]}, "amount:wrong_type"),
        ({"amount": float("nan")}, "amount:not_finite"),
        ({"amount": "Infinity"}, "amount:not_finite"),
        ({"amount": 1e308}, "amount:out_of_range"),
        ({"amount": "1.00001"}, "amount:too_precise"),
        ({"currency": "XXQ"}, "currency:unknown"),
        ({"date": "2026-13-01"}, "date:invalid"),
        ({"date": "2026-10-01junk"}, "date:invalid"),
        ({"amount": "1_000"}, "amount:invalid"),
        ({"date": "1900-01-01"}, "date:out_of_range"),
        ({"mcc": "58"}, "mcc:invalid"),
    ],
)
def test_bad_field_is_rejected_with_its_reason(change, reason):
    result = validate_batch([{**GOOD, **change}], SETTINGS)
    assert result.accepted == []
    assert [r.reason for r in result.rejected] == [reason]
    assert result.rejected[0].raw == {**GOOD, **change}


def test_bad_rows_do_not_stop_the_batch_and_repeated_ids_keep_the_first():
    rows = [GOOD, "not an object", {**GOOD, "amount": "abc"}, {**GOOD, "description": "again"},
            {**GOOD, "id": "t9"}]
    result = validate_batch(rows, SETTINGS)
    assert [t.id for t in result.accepted] == ["t1", "t9"]
    assert result.positions == [0, 4]
    assert [(r.row_index, r.reason) for r in result.rejected] == [
        (1, "row:not_an_object"), (2, "amount:invalid"), (3, "id:duplicate")]


def test_extra_fields_are_ignored():
    assert validate_row({**GOOD, "note": "anything"}, SETTINGS).id == "t1"


def test_an_oversized_message_keeps_every_row_as_a_rejection():
    settings = Settings(max_message_transactions=3)
    rows = [{**GOOD, "id": f"t{i}"} for i in range(4)]
    result = validate_batch(rows, settings)
    assert result.accepted == [] and [r.reason for r in result.rejected] == ["message:too_large"] * 4
    assert [r.raw for r in result.rejected] == rows
