"""The result cache interface: one MGET and one pipelined SET-with-TTL per chunk.

A cache that fails is counted and skipped, never fatal; after a failure the cache is bypassed
for a short while so an outage does not add a timeout to every chunk, then tried again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Protocol

log = logging.getLogger(__name__)


class ResultCache(Protocol):
    """What the categorizer needs from a cache."""

    def get_many(self, keys: Sequence[str]) -> list[str | None]:
        """Values for ``keys`` in order; None where missing."""
        ...

    def set_many(self, items: dict[str, str], ttl_seconds: int) -> None:
        """Store every item with a time to live."""
        ...

    def clear(self) -> None:
        """Drop every entry this cache owns."""
        ...


class MemoryCache:
    """An in-process cache for the embedded mode, offline prediction and tests; oldest out first."""

    def __init__(self, max_items: int = 1_000_000) -> None:
        self.max_items = max_items
        self._items: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def get_many(self, keys: Sequence[str]) -> list[str | None]:
        """Values for ``keys``; expired entries count as missing."""
        now = time.monotonic()
        with self._lock:
            found = [self._items.get(key) for key in keys]
        return [item[1] if item and item[0] > now else None for item in found]

    def set_many(self, items: dict[str, str], ttl_seconds: int) -> None:
        """Store with expiry."""
        expires = time.monotonic() + ttl_seconds
        with self._lock:
            self._items.update({key: (expires, value) for key, value in items.items()})
            overflow = len(self._items) - self.max_items
            if overflow > 0:  # dicts keep insertion order: the first keys are the oldest
                for key in list(self._items)[:overflow]:
                    del self._items[key]

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._items.clear()


_SET_WITH_TTL = "for i = 1, #KEYS do redis.call('SET', KEYS[i], ARGV[i + 1], 'EX', ARGV[1]) end"


class RedisCache:
    """Redis-backed cache; every call is bounded by the socket timeout."""

    prefix = "manna:c:"

    def __init__(self, url: str, timeout_seconds: float) -> None:
        import redis  # the redis client stays behind this interface

        self._client = redis.Redis.from_url(
            url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds,
            decode_responses=True, health_check_interval=30,
        )
        self._set_with_ttl = self._client.register_script(_SET_WITH_TTL)

    def get_many(self, keys: Sequence[str]) -> list[str | None]:
        """One MGET."""
        if not keys:
            return []
        values = self._client.mget([self.prefix + key for key in keys])
        return [value if value is None or isinstance(value, str) else value.decode() for value in values]

    def set_many(self, items: dict[str, str], ttl_seconds: int) -> None:
        """One command: a script doing SET key value EX ttl for every item.

        MSET cannot set a TTL, and a pipeline of 500 SETs costs three times as much client time.
        """
        if not items:
            return
        self._set_with_ttl(keys=[self.prefix + key for key in items], args=[ttl_seconds, *items.values()])

    def clear(self) -> None:
        """Delete this project's keys only (SCAN, never FLUSHDB)."""
        batch: list[str] = []
        for key in self._client.scan_iter(match=self.prefix + "*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                self._client.delete(*batch)
                batch.clear()
        if batch:
            self._client.delete(*batch)


class GuardedCache:
    """Wraps a cache so failures are counted and skipped; retried after ``retry_after`` seconds."""

    def __init__(self, inner: ResultCache, retry_after_seconds: float = 5.0) -> None:
        self.inner = inner
        self.retry_after = retry_after_seconds
        self.errors = 0
        self._down_until = 0.0

    @property
    def available(self) -> bool:
        """False while the cache is being bypassed after a failure."""
        return time.monotonic() >= self._down_until

    def get_many(self, keys: Sequence[str]) -> list[str | None]:
        """Values, or all-missing when the cache is down."""
        if self.available:
            try:
                return self.inner.get_many(keys)
            except Exception as err:  # any client error: the cache is an optimization only
                self._failed("get", err)
        return [None] * len(keys)

    def set_many(self, items: dict[str, str], ttl_seconds: int) -> None:
        """Store, or silently skip (counted) when the cache is down."""
        if self.available:
            try:
                self.inner.set_many(items, ttl_seconds)
            except Exception as err:
                self._failed("set", err)

    def clear(self) -> None:
        """Clear the inner cache; errors propagate, since an operator asked for it."""
        self.inner.clear()

    def _failed(self, operation: str, err: Exception) -> None:
        self.errors += 1
        self._down_until = time.monotonic() + self.retry_after
        log.warning("result cache %s failed (%s); bypassing it for %.0f s", operation, err, self.retry_after)


def make_cache(url: str | None, timeout_seconds: float, retry_after_seconds: float) -> GuardedCache:
    """A guarded Redis cache for a URL, or a guarded in-process cache for None."""
    inner: ResultCache = RedisCache(url, timeout_seconds) if url else MemoryCache()
    return GuardedCache(inner, retry_after_seconds)
