"""Memory in the categorizer, the review queue, backfill, retraining policy and its lease (no servers)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select

from db.engine import session_scope
from db.locks import acquire, release
from db.models import Label, LabelHistory, Lease
from pipeline.cache import MemoryCache
from pipeline.categorize import Categorizer
from pipeline.memory import Remembered, dict_memory, next_streak
from pipeline.retraining import held_out, judge
from pipeline.review import ranking_quality
from pipeline.rules import RuleSet
from pipeline.schema import Transaction
from services.backfill import recategorize
from services.feedback import record_feedback
from services.retrain import retrain
from services.review import review_entries
from tests.unit.test_feedback import ROWS, categorize, view


def txn(i, description, amount="-12.50"):
    return Transaction(id=f"t{i}", description=description, amount=Decimal(amount), currency="USD")


def test_memory_wins_over_cache_and_rules_and_its_decisions_are_never_cached(small_model):
    cache = MemoryCache()
    categorizer = Categorizer(RuleSet.load(), small_model, cache)
    lines = [txn(0, "STARBUCKS STORE #1234 SEATTLE WA"), txn(1, "GUSTO PAYROLL PPD ID: 9912", "2450.00")]
    first = categorizer.categorize(lines)
    assert [d.decided_by for d in first.decisions] == ["model", "rule"]
    memory = dict_memory({("starbucks store", -1): Remembered("food.restaurants", 7),
                          ("gusto payroll ppd", 1): Remembered("income.other", 8)})
    taught = categorizer.categorize(lines, memory)
    assert [(d.category, d.decided_by, d.correction_id) for d in taught.decisions] == [
        ("food.restaurants", "memory", 7), ("income.other", "memory", 8)]
    assert taught.memory_hits == 2 and taught.cache_hits == 0
    forgotten = categorizer.categorize(lines)  # memory gone: the cached model and rule decisions come back
    assert [d.decided_by for d in forgotten.decisions] == ["cache", "cache"]
    assert [d.category for d in forgotten.decisions] == [d.category for d in first.decisions]


def test_the_memory_streak_counts_agreeing_newest_corrections():
    assert next_streak(None, 0, "a") == 1
    assert next_streak("a", 1, "a") == 2
    assert next_streak("a", 2, "b") == 1


def test_the_review_queue_lists_merchants_by_expected_errors_and_skips_reviewed_ones(sqlite_settings, small_model):
    rows = [{"id": f"u{i}", "description": f"SQ *ZORBLAX EMPORIUM #{i} OAKLAND CA", "amount": "-20"} for i in range(6)]
    rows += [{"id": "s1", "description": "STARBUCKS STORE #1 SEATTLE WA", "amount": "-4"}, *ROWS]
    categorize(sqlite_settings, rows, job_id="j1", model=small_model)
    queue = review_entries(sqlite_settings, limit=10)
    assert [e["rank"] for e in queue] == list(range(1, len(queue) + 1))
    expected = [e["expected_errors"] for e in queue]
    assert expected == sorted(expected, reverse=True)
    top = queue[0]
    assert top["merchant_key"] == "zorblax emporium" and top["labels"] == 6 and "6 unreviewed labels" in top["why"]
    assert len({(e["source"], e["merchant_key"]) for e in queue}) == len(queue)  # one entry per merchant
    record_feedback(sqlite_settings, [{"source": "s1", "transaction_id": top["transaction_id"],
                                       "category": "shopping.general"}])
    assert "zorblax emporium" not in {e["merchant_key"] for e in review_entries(sqlite_settings, limit=10)}


def test_ranking_quality_compares_the_queue_with_all_labels():
    queue = [{"transaction_id": "a", "category": "x"}, {"transaction_id": "b", "category": "y"}]
    labels = {"a": "x", "b": "y", "c": "z", "d": "z", "e": "z"}
    truth = {"a": "wrong", "b": "y", "c": "z", "d": "z", "e": "z"}
    quality = ranking_quality(queue, labels, truth)
    assert (quality["queue_error_rate"], quality["overall_error_rate"], quality["ratio"]) == (0.5, 0.2, 2.5)


def test_backfill_changes_labels_with_history_and_never_an_override(sqlite_settings, small_model):
    categorize(sqlite_settings, ROWS, job_id="j1", model=small_model)
    record_feedback(sqlite_settings, [{"source": "s1", "transaction_id": "t1", "category": "food.restaurants"}])
    record_feedback(sqlite_settings, [{"source": "s1", "transaction_id": "t1", "category": "food.coffee"}])
    # The runtime serves no model here: rules and memory re-decide, the rest falls back.
    url = sqlite_settings.effective_database_url
    dry = recategorize(sqlite_settings, source="s1", dry_run=True)
    with session_scope(url) as session:
        history_before = session.scalar(select(func.count()).select_from(LabelHistory))
    assert dry.examined == 3 and dry.changed >= 1  # t1 is reviewed: not examined
    assert view(sqlite_settings, "t2")["t2"][1] == "model"  # a dry run writes nothing
    real = recategorize(sqlite_settings, source="s1")
    assert real.changed == dry.changed and real.pairs == dry.pairs
    after = view(sqlite_settings, "t1", "t2", "t3")
    assert after["t1"][:2] == ("food.coffee", "override")
    assert after["t2"][:2] == ("food.coffee", "memory")  # the newest correction of the merchant wins
    with session_scope(url) as session:
        assert session.scalar(select(func.count()).select_from(LabelHistory)) == history_before + real.changed
        assert session.scalar(select(Label.task_id).where(Label.transaction_id == "t2")) == real.run


def test_retrain_is_skipped_with_a_reason_when_there_is_nothing_to_learn(sqlite_settings):
    assert retrain(sqlite_settings, trigger="cli").reason.startswith("no active model")


def test_held_out_reviews_are_whole_merchants_and_change_with_the_salt():
    keys = [f"m{i % 50}" for i in range(1_000)]
    split = held_out(keys, 0.2, "run-1")
    by_key: dict[str, set[bool]] = {}
    for key, held in zip(keys, split, strict=True):
        by_key.setdefault(key, set()).add(held)
    assert all(len(v) == 1 for v in by_key.values()) and 0.05 < sum(split) / len(split) < 0.4
    assert held_out(keys, 0.2, "run-2") != split


def test_a_candidate_is_judged_on_every_judged_set():
    good = {"standard": {"judged": True, "active": 0.90, "candidate": 0.897}}
    assert judge(good, 0.005)[0]
    worse = {**good, "held_out_reviews": {"judged": True, "active": 0.80, "candidate": 0.70}}
    ok, reason = judge(worse, 0.005)
    assert not ok and "held_out_reviews: candidate 0.7000 vs active 0.8000" in reason
    assert not judge({"standard": {"judged": False, "active": None, "candidate": None}}, 0.005)[0]


def test_a_lease_is_held_once_and_ends_by_itself(sqlite_settings):
    url = sqlite_settings.effective_database_url
    assert acquire(url, "retrain", "a", 60) and not acquire(url, "retrain", "b", 60)
    release(url, "retrain", "b")  # not the holder: nothing happens
    assert not acquire(url, "retrain", "b", 60)
    with session_scope(url) as session:  # a holder that died: its lease ran out
        session.get(Lease, "retrain").expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    assert acquire(url, "retrain", "b", 60)
    release(url, "retrain", "b")
    assert acquire(url, "retrain", "c", 60)


def test_a_process_reloads_a_sources_memory_only_when_its_generation_moves(sqlite_settings):
    from db.memory import MemoryStore, remember

    url = sqlite_settings.effective_database_url
    store = MemoryStore(url, min_agreement=2)
    assert store.entries("s1") == {}
    with session_scope(url) as session:
        remember(session, source="s1", key=("harbor bakery", -1), category="food.coffee", correction_id=1)
    assert store.entries("s1") == {}  # one correction: below the agreement asked for
    with session_scope(url) as session:
        remember(session, source="s1", key=("harbor bakery", -1), category="food.coffee", correction_id=2)
    first = store.entries("s1")
    assert first == {("harbor bakery", -1): Remembered("food.coffee", 2)}
    assert store.entries("s1") is first  # unchanged generation: no reload
    with session_scope(url) as session:  # a disagreeing correction starts a new streak of one
        remember(session, source="s1", key=("harbor bakery", -1), category="food.bakery", correction_id=3)
        remember(session, source="s2", key=("other", -1), category="food.bakery", correction_id=4)
    assert store.entries("s1") == {}
    assert MemoryStore(url, min_agreement=1).lookup("s1")([("harbor bakery", -1), ("nope", 1)]) == {
        ("harbor bakery", -1): Remembered("food.bakery", 3)}
