"""The COPY writer against real Postgres: every value comes back as it went in, escapes and NULLs included."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from db.bulk import insert_new
from db.engine import session_scope
from db.models import Label, TransactionRow

AWKWARD = ["plain", "back\\slash", "a\ttab", "new\nline", "carriage\rreturn", "\\N", "\\", "ends with \\",
           "caf\u00e9 \u2603", "  spaces  ", "True", ""]


def _transaction(n: int, text: str) -> dict:
    return {"source": "copy", "transaction_id": f"t{n}", "job_id": "copy-job", "batch_key": "k",
            "description": text or "x", "amount": Decimal("-1234.5600") if n % 2 else Decimal("1E+3"),
            "currency": "USD", "date": dt.date(2026, 1, n + 1) if n % 3 else None,
            "account_id": text if n % 2 else None, "mcc": None, "counterparty": text}


def _label(n: int, text: str) -> dict:
    return {"source": "copy", "transaction_id": f"t{n}", "category": "food.coffee", "confidence": 0.1 + n / 100,
            "confidence_level": "low", "decided_by": "model", "rule_id": None, "model_version": "m-1",
            "variant": "A", "needs_review": bool(n % 2), "explanation": text, "job_id": "copy-job",
            "task_id": "chunk", "merchant_key": text or None, "correction_id": None}


def test_copy_round_trips_awkward_text_nulls_numbers_dates_and_booleans(pg_url):
    transactions = [_transaction(n, text) for n, text in enumerate(AWKWARD)]
    labels = [_label(n, text) for n, text in enumerate(AWKWARD)]
    with session_scope(pg_url) as session:
        assert len(insert_new(session, TransactionRow, transactions, ["transaction_id"])) == len(AWKWARD)
        assert len(insert_new(session, Label, labels, ["transaction_id"])) == len(AWKWARD)
    with session_scope(pg_url) as session:
        for model, sent_rows in ((TransactionRow, transactions), (Label, labels)):
            stored = {row.transaction_id: row for row in session.scalars(select(model).where(model.source == "copy"))}
            for sent in sent_rows:
                assert {key: getattr(stored[sent["transaction_id"]], key) for key in sent} == sent
