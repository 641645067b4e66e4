"""Reviews on SQLite: corrections override and stick, memory decides the merchant next, reasons are clear."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import bindparam, select, text

from db.engine import session_scope
from db.feedback import live_accuracy
from db.jobs import commit_chunk, label_row, record_batch
from db.memory import MemoryStore
from db.models import Correction, LabelHistory, MerchantMemory
from pipeline.categorize import Categorizer
from pipeline.feedback import FeedbackFileError, check_header, parse_reviews
from pipeline.rules import RuleSet
from pipeline.schema import validate_batch
from services.feedback import record_feedback

ROWS = [
    {"id": "t1", "description": "SQ *HARBOR BAKERY #12 OAKLAND CA", "amount": "-8.00"},
    {"id": "t2", "description": "SQ *HARBOR BAKERY #40 OAKLAND CA", "amount": "-9.50"},
    {"id": "t3", "description": "HARBOR BAKERY REFUND", "amount": "9.50"},
    {"id": "t4", "description": "SHELL OIL 5744 HOUSTON TX", "amount": "-41.00"},
]


def categorize(settings, rows, *, job_id, model=None, source="s1", rules=None):
    """The chunk path without Celery: store, decide with the source's memory, commit labels."""
    batch = validate_batch(rows, settings)
    url = settings.effective_database_url
    with session_scope(url) as session:
        fresh, _ = record_batch(session, job_id=job_id, source=source, batch_key=job_id, accepted=batch.accepted,
                                positions=batch.positions, rejected=batch.rejected, callback=None, chunk_size=100)
    report = Categorizer(rules or RuleSet.load(), model).categorize(fresh, MemoryStore(url, 1).lookup(source))
    labels = [label_row(source, t.id, d, variant="A", job_id=job_id, task_id=f"task-{job_id}", merchant_key=k)
              for t, d, k in zip(fresh, report.decisions, report.merchant_keys, strict=True)]
    with session_scope(url) as session:
        commit_chunk(session, task_id=f"task-{job_id}", job_id=job_id, labels=labels, metrics={
            "task_id": f"task-{job_id}", "task_name": "manna.categorize_chunk", "job_id": job_id})
    return report


def view(settings, *ids):
    """(category, decided_by, correction_id) by transaction id, from the contract's view."""
    query = text("SELECT transaction_id, category, decided_by, correction_id FROM categorized_transactions "
                 "WHERE transaction_id IN :ids").bindparams(bindparam("ids", expanding=True))
    with session_scope(settings.effective_database_url) as session:
        return {tid: (category, by, cid) for tid, category, by, cid in session.execute(query, {"ids": list(ids)})}


def test_a_correction_overrides_the_label_keeps_the_old_one_and_teaches_the_merchant(sqlite_settings, small_model):
    categorize(sqlite_settings, ROWS, job_id="j1", model=small_model)
    before = view(sqlite_settings, "t1")["t1"]
    result = record_feedback(sqlite_settings, [
        {"source": "s1", "transaction_id": "t1", "category": "food.restaurants", "reviewer": "ann"},
        {"source": "s1", "transaction_id": "t4", "category": view(sqlite_settings, "t4")["t4"][0]},
    ])
    assert (result.corrections, result.confirmations, result.rejected) == (1, 1, [])
    after = view(sqlite_settings, "t1", "t2", "t4")
    assert after["t1"][:2] == ("food.restaurants", "override") and after["t1"][2] is not None
    assert after["t2"][1] != "override" and after["t4"][1] != "override"  # a confirmation changes nothing
    with session_scope(sqlite_settings.effective_database_url) as session:
        (history,) = session.scalars(select(LabelHistory)).all()
        assert (history.category, history.decided_by) == before[:2]
        memory = session.scalars(select(MerchantMemory)).all()
        assert [(m.merchant_key, m.direction, m.category) for m in memory] == [("harbor bakery", -1,
                                                                                 "food.restaurants")]
    # The merchant's next purchases are decided by memory; a refund (money in) is not.
    report = categorize(sqlite_settings, [
        {"id": "n1", "description": "SQ *HARBOR BAKERY #77 OAKLAND CA", "amount": "-3.00"},
        {"id": "n2", "description": "HARBOR BAKERY", "amount": "-12.00"},
        {"id": "n3", "description": "HARBOR BAKERY", "amount": "12.00"}], job_id="j2", model=small_model)
    labels = view(sqlite_settings, "n1", "n2", "n3")
    assert labels["n1"] == labels["n2"] == ("food.restaurants", "memory", after["t1"][2])
    assert labels["n3"][1] != "memory" and report.memory_hits == 2


def test_an_override_is_never_replaced_by_a_later_decision(sqlite_settings, small_model):
    categorize(sqlite_settings, ROWS, job_id="j1", model=small_model)
    record_feedback(sqlite_settings, [{"source": "s1", "transaction_id": "t4", "category": "transport.parking"}])
    # The same chunk committed again (a retry, a redrive) inserts nothing over the override.
    categorize(sqlite_settings, ROWS, job_id="j1", model=small_model)
    assert view(sqlite_settings, "t4")["t4"][:2] == ("transport.parking", "override")


def test_bad_reviews_get_a_reason_and_the_good_ones_are_kept(sqlite_settings, small_model):
    categorize(sqlite_settings, ROWS[:2], job_id="j1", model=small_model)
    with session_scope(sqlite_settings.effective_database_url) as session:  # stored, not yet labeled
        validate = validate_batch([{"id": "pending", "description": "X", "amount": "1"}], sqlite_settings)
        record_batch(session, job_id="j9", source="s1", batch_key="k9", accepted=validate.accepted,
                     positions=validate.positions, rejected=[], callback=None, chunk_size=100)
    result = record_feedback(sqlite_settings, [
        {"source": "s1", "transaction_id": "t1", "category": "food.coffee"},
        {"source": "s1", "transaction_id": "nope", "category": "food.coffee"},
        {"source": "s2", "transaction_id": "t1", "category": "food.coffee"},
        {"source": "s1", "transaction_id": "pending", "category": "food.coffee"},
        {"source": "s1", "transaction_id": "t2", "category": "food.cofee"},
        {"source": "s1", "transaction_id": "t1", "category": "food.coffee"},
        {"source": "s1", "transaction_id": "t2"},
        {"source": "s1", "transaction_id": "t2", "category": "food.coffee", "when": "today"},
        "not a record",
    ])
    assert result.accepted == 1
    assert [(r.index, r.reason) for r in result.rejected] == [
        (1, "transaction:unknown"), (2, "transaction:unknown"), (3, "transaction:not_labeled"),
        (4, "category:unknown"), (5, "review:duplicate"), (6, "category:missing"), (7, "row:unknown_field"),
        (8, "row:malformed")]
    assert "--allow-new-category" in result.rejected[3].detail
    summary = result.as_dict()
    assert summary["accepted"] == 1 and summary["rejected"] == 8 and summary["reasons"]["transaction:unknown"] == 2


def test_a_new_category_is_accepted_only_when_allowed_and_then_known(sqlite_settings, small_model):
    categorize(sqlite_settings, ROWS, job_id="j1", model=small_model)
    review = {"source": "s1", "transaction_id": "t1", "category": "kids.bakery_treats"}
    assert record_feedback(sqlite_settings, [review]).rejected[0].reason == "category:unknown"
    allowed = record_feedback(sqlite_settings, [review], allow_new_category=True)
    assert allowed.corrections == 1 and allowed.new_categories == {"kids.bakery_treats"}
    again = record_feedback(sqlite_settings, [{**review, "transaction_id": "t2"}])  # known from now on
    assert again.corrections == 1 and not again.new_categories


def test_live_accuracy_counts_reviews_of_pipeline_labels_per_variant(sqlite_settings, small_model):
    categorize(sqlite_settings, ROWS, job_id="j1", model=small_model)
    labels = view(sqlite_settings, "t1", "t2", "t4")
    record_feedback(sqlite_settings, [
        {"source": "s1", "transaction_id": "t1", "category": labels["t1"][0]},
        {"source": "s1", "transaction_id": "t2", "category": labels["t2"][0]},
        {"source": "s1", "transaction_id": "t4", "category": "transport.parking"}])
    record_feedback(sqlite_settings, [{"source": "s1", "transaction_id": "t4", "category": "transport.tolls"}])
    since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    with session_scope(sqlite_settings.effective_database_url) as session:
        figures = live_accuracy(session, since=since, min_reviews=3)
        assert session.scalar(select(Correction.previous_decided_by).order_by(Correction.id.desc())) == "override"
    # The second review of t4 judged a reviewer's label, not the pipeline's: not counted.
    assert (figures["reviews"], figures["confirmations"], figures["accuracy"]) == (3, 2, pytest.approx(0.6667))
    assert [(g["variant"], g["model_version"], g["reviews"]) for g in figures["per_variant"]] == [("A", "m-test", 3)]
    with session_scope(sqlite_settings.effective_database_url) as session:
        assert live_accuracy(session, since=since, min_reviews=4)["accuracy"] is None


def test_parse_reviews_and_the_header_check():
    reviews, rejected = parse_reviews([{"source": " s ", "transaction_id": "1", "category": "c", "note": ""}])
    assert (reviews[0].source, reviews[0].note, rejected) == ("s", None, [])
    _, rejected = parse_reviews([{"source": "s", "transaction_id": 7, "category": "c"},
                                 {"source": "s", "transaction_id": "1", "category": "c" * 129}])
    assert [r.reason for r in rejected] == ["transaction_id:invalid", "category:too_long"]
    check_header(["source", "transaction_id", "category", "reviewer"])
    with pytest.raises(FeedbackFileError, match=r"missing column.*category.*unknown column.*categroy"):
        check_header(["source", "transaction_id", "categroy"])
    with pytest.raises(FeedbackFileError, match=r"column\(s\) category more than once"):
        check_header(["source", "transaction_id", "category", "category"])
