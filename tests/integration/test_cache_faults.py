"""The result cache is an optimization only: down or stalled, categorization goes on, counted, bounded."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import redis

from pipeline.cache import make_cache
from pipeline.categorize import Categorizer
from pipeline.generate import Generator
from pipeline.rules import RuleSet
from pipeline.schema import Transaction

TIMEOUT, RETRY_AFTER = 0.25, 1.0


def _chunk(seed: int) -> list[Transaction]:
    return [Transaction(r["id"], r["description"], Decimal(r["amount"]), "USD")
            for r in Generator(seed).rows(300, id_prefix=f"c{seed}-")]


def test_categorization_survives_a_cache_outage_and_uses_the_cache_again_when_it_returns(throwaway_redis,
                                                                                       small_model):
    cache = make_cache(throwaway_redis.url, TIMEOUT, RETRY_AFTER)
    categorizer = Categorizer(RuleSet.load(), small_model, cache)
    warm = _chunk(1)
    expected = [d.category for d in categorizer.categorize(warm).decisions]
    assert categorizer.categorize(warm).cache_hits > 0 and cache.errors == 0

    throwaway_redis.stop()
    started = time.perf_counter()
    down = categorizer.categorize(warm)
    assert time.perf_counter() - started < 5 * TIMEOUT + 2.0  # one bounded failure, then bypassed
    assert [d.category for d in down.decisions] == expected and down.cache_hits == 0
    assert cache.errors >= 1 and not cache.available

    throwaway_redis.start()  # an empty Redis on the same port: the cache refills by itself
    time.sleep(RETRY_AFTER + 0.1)
    categorizer.categorize(warm)
    errors = cache.errors
    assert categorizer.categorize(warm).cache_hits > 0 and cache.errors == errors


def test_a_stalled_cache_costs_at_most_its_timeout(throwaway_redis, small_model):
    cache = make_cache(throwaway_redis.url, TIMEOUT, RETRY_AFTER)
    categorizer = Categorizer(RuleSet.load(), small_model, cache)
    categorizer.categorize(_chunk(2))
    stall = threading.Thread(target=lambda: redis.Redis.from_url(throwaway_redis.url).execute_command(
        "DEBUG", "SLEEP", "3"))
    stall.start()
    time.sleep(0.2)  # the server is now asleep for 3 s
    started = time.perf_counter()
    report = categorizer.categorize(_chunk(3))
    elapsed = time.perf_counter() - started
    stall.join()
    assert len(report.decisions) == 300 and cache.errors == 1
    assert elapsed < 2.0, f"a stalled cache held a chunk for {elapsed:.2f} s"
