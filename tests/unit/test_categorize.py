"""The categorizer: rules first, the model second, each distinct input decided once, cache in front."""

from decimal import Decimal

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
    assert 'merchant "starbucks' in coffee.explanation and coffee.explanation.count(", ") <= 2
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
