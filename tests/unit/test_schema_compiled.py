"""The compiled fast path of ``validate_batch`` against the per-row Python checks it stands in for.

The fast path may decline any row (the Python path then decides), but a row it accepts must be one
the Python path accepts, as the very same ``Transaction``: equal values of the same types, and
amounts with the same digits and exponent. Whole batches must come out identical: accepted rows,
positions, rejections with their reasons and details.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from pipeline.generate import Generator
from pipeline.schema import (
    UNREADABLE,
    Transaction,
    _compiled_rows,
    validate_batch,
    validate_row,
)
from pipeline.settings import Settings
from tests.unit.test_fuzz_inputs import broken_rows, good_rows, hostile_rows, json_rows, weighted

DEFAULT = Settings()
# Limits that are not the defaults, so the compiled schema is seen to follow the settings.
TIGHT = Settings(max_abs_amount=1234.5, max_description_length=16, default_currency="EUR", max_future_days=0,
                 min_date="2020-02-29")
TODAY = dt.date.today()


def exact(txn: Transaction) -> tuple[object, ...]:
    """Every field with its type, the amount by its digits and exponent (Decimal("1.50") == Decimal("1.5"))."""
    values = [getattr(txn, name) for name in Transaction.__slots__]
    return tuple((type(v), v.as_tuple() if isinstance(v, Decimal) else v) for v in values)


def assert_same(rows: list[Any], config: Settings) -> None:
    for raw, fast in zip(rows, _compiled_rows(rows, config), strict=True):
        if fast is not None:
            assert exact(fast) == exact(validate_row(raw, config)), raw  # raises if Python would reject it
    got, want = validate_batch(rows, config), validate_batch(rows, config, compiled=False)
    assert [exact(t) for t in got.accepted] == [exact(t) for t in want.accepted]
    assert got.positions == want.positions
    assert got.rejected == want.rejected


# Rows on the fast path's edges: each value valid or just past a limit or a spelling it takes.
EDGE_VALUES: dict[str, list[object]] = {
    "id": ["t1", "t2", " t ", "x" * 128, "x" * 129, "a\tb", "a\x7fb", "é", "   ", "", None, 7, "t\u200b"],
    "description": ["COFFEE", "x" * 16, "x" * 17, "x" * 512, "x" * 513, " a ", "a\nb", "\x7f", "~", "café",
                    "  ", None, b"bytes", ["x"]],
    "amount": ["1", "-0", "0.0000", "-0.00", "0001.50", "+1", ".5", "1.", "1e3", " 1", "1 ", "1\n", "1,000",
               "1234.5", "1234.5001", "-1234.5", "1234.6", "999999999.9999", "1000000000", "-1000000000.0001",
               "1.00001", "9999999999999999", "12345678901234567", "NaN", "", "٣", 0, -1, 1234, 1235, -1235,
               10**9, 10**9 + 1, -(10**9), 2**64, True, False, 1.5, -4.5, 1e-5, float("nan"), None, Decimal("1")],
    "currency": ["USD", "usd", "Usd", "uSd", "EUR", "eur", " eur", "usd ", "XXX", "XXQ", "US", "", "ıNR", None, 1],
    "date": [*((TODAY + dt.timedelta(days=n)).isoformat() for n in (0, 1, 366, 367)), "1970-01-01", "1969-12-31",
             "2020-02-29", "2020-02-28",
             "2023-02-29", "2026-13-01", "0000-01-01", "2024-1-01", "20240101", "2024-01-01T10:00", "2024-01-01 ",
             " 2024-01-01", "2024-01-01\n", "2024-W01-1", "", None, 20240101],
    "account_id": ["acct-1", "", " ", "x" * 256, "x" * 257, "a\tb", "ü", None, 3],
    "mcc": ["5814", "0000", "9999", "581", "58140", "", " 5814", "5814\n", "５８１４", 5814, 1000, 999, 0, 9999,
            10000, -5814, True, 5814.0, None],
    "counterparty": ["Shop", "", "x" * 256, "x" * 257, "\x00", "\ud800", None, {}],
}
base_row = {"id": "t1", "description": "COFFEE", "amount": "-4.50", "currency": "USD", "date": "2024-02-29",
            "account_id": "acct-1", "mcc": "5814", "counterparty": "Shop"}
edge_rows = st.builds(
    lambda changes, dropped, extra: {**{k: v for k, v in {**base_row, **changes}.items() if k not in dropped},
                                     **extra},
    st.fixed_dictionaries({}, optional={name: st.sampled_from(values) for name, values in EDGE_VALUES.items()}),
    st.sets(st.sampled_from(list(base_row)), max_size=2),
    st.sampled_from([{}, {"note": "x"}, {UNREADABLE: {"reason": "row:invalid_json", "detail": "d"}}, {1: "x"}]),
)
any_rows = weighted((edge_rows, 4), (good_rows, 2), (broken_rows, 2), (json_rows, 1), (hostile_rows, 1))


@given(rows=st.lists(any_rows, max_size=10), config=st.sampled_from([DEFAULT, TIGHT]))
@settings(max_examples=600, deadline=None)
@example(rows=[{"id": "a", "description": "d", "amount": "1000000000"}], config=DEFAULT)
@example(rows=[{"id": "a", "description": "d", "amount": "-0.0000", "mcc": 1000}], config=DEFAULT)
@example(rows=[{"id": "a", "description": "d", "amount": 1, "mcc": ""}, {"id": "a", "description": "e",
                                                                         "amount": "2"}], config=DEFAULT)
def test_compiled_and_python_paths_agree_exactly(rows: list[Any], config: Settings) -> None:
    assert_same(rows, config)


class Row(dict):  # type: ignore[type-arg]
    """A dict subclass (it could answer ``get`` its own way): the Python path's to judge."""


def test_rows_that_are_not_plain_dicts_take_the_python_path():
    rows = [Row(base_row), {**base_row, "id": "t2", UNREADABLE: None}, "text", None, [base_row]]
    assert _compiled_rows(rows, DEFAULT) == [None] * len(rows)
    assert_same(rows, DEFAULT)


def test_generated_rows_as_the_producer_sends_them_all_take_the_compiled_path():
    # Guards the speed: a change that made the fast path decline ordinary rows would pass every other test.
    rows = Generator(3).rows(500)
    for index, row in enumerate(rows):
        row.pop("category")
        row.pop("merchant")
        row["id"] = f"bench-{index}"
    assert None not in _compiled_rows(rows, DEFAULT)
    assert_same(rows, DEFAULT)
