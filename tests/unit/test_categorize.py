"""The categorizer: rules first, the model second, each distinct input decided once, cache in front."""

from decimal import Decimal

import numpy as np
import pytest

from pipeline.cache import GuardedCache, MemoryCache
from pipeline.categorize import Categorizer
from pipeline.rules import RuleSet
from pipeline.schema import Transaction
from tests.unit.test_cache import BrokenCache


def txn(i, description, amount="-12.50", account=None):
    return Transaction(id=f"t{i}", description=description, amount=Decimal(amount), currency="USD",
                       account_id=account)


@pytest.fixture
def rules():
    return RuleSet.load()


CHUNK = [
    txn(0, "GUSTO PAYROLL PPD ID: 9912", "2450.00"),
    txn(1, "STARBUCKS STORE #1234 SEATTLE WA"),
    txn(2, "STARBUCKS STORE #998 SEATTLE WA 10/23"),  # same feature text once numbers go
    txn(3, "SHELL OIL 5744 HOUSTON TX", "-41.00"),
]


def test_rules_win_then_the_model_and_duplicates_are_decided_once(rules, small_model):
    report = Categorizer(rules, small_model).categorize(CHUNK)
    payroll, coffee, coffee_again, fuel = report.decisions
    assert payroll.decided_by == "rule" and payroll.rule_id and payroll.category.startswith("income.")
    assert coffee.decided_by == "model" and coffee.model_version == "m-test" and coffee.rule_id is None
    assert coffee == coffee_again and coffee.category == "food.coffee"
    assert fuel.category == "transport.fuel"
    assert payroll.explanation.startswith(f"rule {payroll.rule_id}: /")
    assert 'brand kind "coffee shop"' in coffee.explanation and coffee.explanation.count(", ") <= 2
    assert (report.unique, report.rule_hits, report.model_hits, report.cache_hits) == (3, 1, 2, 0)
    assert all(ms >= 0 for ms in report.timings_ms.values())


def test_second_pass_is_served_from_the_cache_with_the_same_answers(rules, small_model):
    categorizer = Categorizer(rules, small_model, MemoryCache())
    first = categorizer.categorize(CHUNK)
    second = categorizer.categorize(CHUNK)  # every input cached: no model call at all
    assert second.cache_hits == second.unique == 3 and second.model_hits == second.rule_hits == 0
    assert {d.decided_by for d in second.decisions} == {"cache"}
    assert second.decisions[1].explanation == first.decisions[1].explanation
    assert [d.cached_from for d in second.decisions] == ["rule", "model", "model", "model"]
    assert [(d.category, d.confidence, d.rule_id) for d in second.decisions] == [
        (d.category, d.confidence, d.rule_id) for d in first.decisions]


def test_cache_key_separates_amount_buckets_and_directions(rules, small_model):
    chunk = [txn(0, "AMAZON.COM", "-5.00"), txn(1, "AMAZON.COM", "-900.00"), txn(2, "AMAZON.COM", "25.00"),
             txn(3, "AMAZON.COM", "-5.01")]
    assert Categorizer(rules, small_model).categorize(chunk).unique == 3


def test_a_broken_cache_is_counted_and_skipped(rules, small_model):
    cache = GuardedCache(BrokenCache(), retry_after_seconds=60)
    report = Categorizer(rules, small_model, cache).categorize(CHUNK)
    assert [d.decided_by for d in report.decisions] == ["rule", "model", "model", "model"]
    assert cache.errors == 1


def test_without_a_model_non_rule_lines_get_the_fallback_for_review(rules):
    report = Categorizer(rules, None).categorize(CHUNK)
    assert [d.decided_by for d in report.decisions] == ["rule", "fallback", "fallback", "fallback"]
    assert all(d.needs_review for d in report.decisions[1:])


def test_below_the_abstain_threshold_means_needs_review(rules, small_model):
    report = Categorizer(rules, small_model, abstain_threshold=1.0).categorize(CHUNK)
    assert [d.needs_review for d in report.decisions] == [False, True, True, True]


# The merchant layer: one model decision per merchant and direction, in front of the model only.

SEATTLE = txn(10, "STARBUCKS STORE #1234 SEATTLE WA", "-12.50")
PORTLAND = txn(11, "STARBUCKS STORE #55 PORTLAND OR", "-4.10")  # another store, amount bucket, feature text


class CountingCache(MemoryCache):
    def __init__(self):
        super().__init__()
        self.reads = []

    def get_many(self, keys):
        self.reads.append(list(keys))
        return super().get_many(keys)


def layered(rules, model, cache, **kwargs):
    return Categorizer(rules, model, cache, merchant_cache=True, **kwargs)


def test_another_store_of_a_merchant_is_answered_by_the_merchant_layer(rules, small_model):
    cache = CountingCache()
    first = layered(rules, small_model, cache).categorize([SEATTLE])
    assert first.decisions[0].decided_by == "model" and first.decisions[0].confidence >= 0.85
    second = layered(rules, small_model, cache).categorize([PORTLAND])
    served = second.decisions[0]
    assert (second.merchant_cache_hits, second.cache_hits, second.model_hits) == (1, 1, 0)
    assert (served.decided_by, served.cached_from, served.category) == ("cache", "model", "food.coffee")
    assert served.explanation.startswith("merchant cache: merchant 'starbucks', money out; first decided as: ")
    assert served.explanation.endswith(first.decisions[0].explanation)
    assert [len(keys) for keys in cache.reads] == [2, 2]  # one read per chunk: exact and merchant key together


def test_a_line_the_merchant_layer_answered_is_an_exact_hit_the_next_time(rules, small_model):
    cache = MemoryCache()
    layered(rules, small_model, cache).categorize([SEATTLE])
    served = layered(rules, small_model, cache).categorize([PORTLAND]).decisions[0]
    again = layered(rules, small_model, cache).categorize([PORTLAND])
    assert (again.cache_hits, again.merchant_cache_hits, again.rule_hits) == (1, 0, 0)
    assert again.decisions[0] == served  # same answer, still saying where it came from


def test_the_exact_key_wins_over_the_merchant_layer(rules, small_model):
    cache = MemoryCache()
    layered(rules, small_model, cache).categorize([SEATTLE])
    again = layered(rules, small_model, cache).categorize([SEATTLE])
    assert (again.cache_hits, again.merchant_cache_hits) == (1, 0)
    assert not again.decisions[0].explanation.startswith("merchant cache")


def test_a_rule_with_an_amount_or_account_condition_still_decides_its_lines(tmp_path, small_model):
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n"
                    "  - {id: big-coffee, category: shopping.general, pattern: starbucks, amount_min: 100}\n"
                    "  - {id: office-coffee, category: bills.software, pattern: starbucks, accounts: [work]}\n")
    rules = RuleSet.load(path)
    cache = MemoryCache()
    assert layered(rules, small_model, cache).categorize([SEATTLE]).decisions[0].decided_by == "model"
    big = txn(12, "STARBUCKS STORE #55 PORTLAND OR", "-150.00")
    work = txn(13, "STARBUCKS STORE #56 PORTLAND OR", "-4.10", account="work")
    report = layered(rules, small_model, cache).categorize([big, work, PORTLAND])
    assert [(d.decided_by, d.rule_id) for d in report.decisions] == [
        ("rule", "big-coffee"), ("rule", "office-coffee"), ("cache", None)]
    assert report.merchant_cache_hits == 1


def test_rule_and_fallback_decisions_never_get_a_merchant_entry(rules):
    cache = MemoryCache()
    layered(rules, None, cache).categorize([CHUNK[0], SEATTLE])  # a rule line and, without a model, a fallback
    assert len(cache._items) == 1  # the rule's exact entry; nothing at merchant level, no fallback


def test_a_decision_that_changes_with_the_amount_gets_no_merchant_entry(rules, small_model, monkeypatch):
    from pipeline.merchant_layer import AmountCheck

    monkeypatch.setattr(AmountCheck, "steady", lambda self, proba, amounts: np.zeros(len(amounts), bool))
    cache = MemoryCache()
    layered(rules, small_model, cache).categorize([SEATTLE])
    assert len(cache._items) == 1  # the exact entry only
    assert layered(rules, small_model, cache).categorize([PORTLAND]).merchant_cache_hits == 0


def test_a_new_model_or_rule_set_version_misses_the_merchant_layer(rules, small_model):
    cache = MemoryCache()
    layered(rules, small_model, cache).categorize([SEATTLE])
    newer_rules = RuleSet(rules.rules, "r-newer")
    assert layered(newer_rules, small_model, cache).categorize([PORTLAND]).merchant_cache_hits == 0
    assert layered(rules, small_model, cache, cache_namespace="other").categorize([PORTLAND]).cache_hits == 0
    small_model.version = "m-newer"
    try:
        assert layered(rules, small_model, cache).categorize([PORTLAND]).merchant_cache_hits == 0
    finally:
        small_model.version = "m-test"


def test_switched_off_the_layer_neither_reads_nor_writes_merchant_entries(rules, small_model):
    cache = CountingCache()
    off = Categorizer(rules, small_model, cache, merchant_cache=False)
    off.categorize([SEATTLE])
    report = off.categorize([PORTLAND])
    assert (report.merchant_cache_hits, report.model_hits) == (0, 1)
    assert len(cache._items) == 2 and [len(keys) for keys in cache.reads] == [1, 1]
    assert layered(rules, small_model, cache).categorize([txn(14, "STARBUCKS SEATTLE WA")]).cache_hits == 0


@pytest.mark.parametrize("layer", [False, True])
def test_unhashed_keys_decide_as_hashed_ones_and_name_what_they_hold(rules, small_model, layer):
    """An in-process cache keeps each key's text; a shared one gets 32 hex digits. The answers are the same."""
    chunks = [CHUNK, [SEATTLE], [PORTLAND], [*CHUNK, PORTLAND]]
    answers, stores = [], []
    for hash_keys in (True, False):
        cache = MemoryCache()
        categorizer = Categorizer(rules, small_model, cache, merchant_cache=layer, hash_keys=hash_keys)
        answers.append([categorizer.categorize(chunk).decisions for chunk in chunks])
        stores.append(list(cache._items))
    assert answers[0] == answers[1]
    assert len(stores[0]) == len(stores[1]) > 0
    assert all(len(key) == 32 and int(key, 16) >= 0 for key in stores[0])
    assert any(key.endswith("|starbucks store #0 seattle wa") for key in stores[1])
    assert any("|merchant|-1|starbucks" in key for key in stores[1]) == layer
