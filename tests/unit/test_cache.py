"""The cache: TTL honoured, failures counted and skipped, and retried after a pause."""

import time

from pipeline.cache import GuardedCache, MemoryCache


class BrokenCache:
    def __init__(self):
        self.calls = 0

    def get_many(self, keys):
        self.calls += 1
        raise ConnectionError("cache down")

    def set_many(self, items, ttl_seconds):
        self.calls += 1
        raise ConnectionError("cache down")

    def clear(self):
        raise ConnectionError("cache down")


def test_memory_cache_round_trip_and_expiry():
    cache = MemoryCache()
    cache.set_many({"a": "1", "b": "2"}, ttl_seconds=60)
    assert cache.get_many(["a", "x", "b"]) == ["1", None, "2"]
    cache._items["a"] = (time.monotonic() - 1, "1")
    assert cache.get_many(["a"]) == [None]


def test_guarded_cache_counts_failures_and_backs_off():
    inner = BrokenCache()
    cache = GuardedCache(inner, retry_after_seconds=0.2)
    assert cache.get_many(["a", "b"]) == [None, None]
    cache.set_many({"a": "1"}, 60)  # skipped while backing off
    assert (cache.errors, inner.calls, cache.available) == (1, 1, False)
    time.sleep(0.25)
    assert cache.available
    cache.set_many({"a": "1"}, 60)
    assert (cache.errors, inner.calls) == (2, 2)
