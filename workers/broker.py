"""The Redis broker transport, with the messages a worker held restored when it reconnects.

When the broker goes away, kombu tries at once to push the worker's unacknowledged messages back
to their queues. That push goes to the Redis that just went away, so it fails, and the messages
wait in the broker's ``unacked`` hash until the visibility timeout (minutes) brings them back.
This transport remembers the delivery tags of that failed push and restores exactly those
messages on the next connection, so a broker restart delays work by seconds. Restoring a tag
that is already back in its queue is a no-op, and the tasks are idempotent besides.

Selected by ``celeryconfig.build`` for ``redis://`` brokers (``broker_transport``).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import redis
from kombu.transport import redis as kombu_redis

log = logging.getLogger(__name__)

_RESTORE_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)
_orphaned: set[Any] = set()  # delivery tags whose restore failed, in this process
_lock = threading.Lock()


class QoS(kombu_redis.QoS):  # type: ignore[misc]
    """Redis ack emulation that keeps, rather than loses track of, the tags it failed to restore."""

    def restore_unacked(self, client: Any = None) -> None:
        if client is None and self.channel.connection.client is None:
            # On a lost connection kombu may detach the transport before it closes this channel;
            # kombu's Redis transport can then make no client (AttributeError) and the worker stopped.
            self._orphan("the connection is already closed")
            return
        try:
            super().restore_unacked(client)
        except _RESTORE_ERRORS as err:
            self._orphan(err)

    def _orphan(self, why: object) -> None:
        with _lock:
            _orphaned.update(self._delivered)
        log.warning("cannot restore %d unacknowledged message(s) now (%s): they will be restored on reconnect",
                    len(self._delivered), why)
        self._delivered.clear()

    def restore_orphans(self) -> None:
        """Put back every message whose restore failed earlier; keep the ones that fail again."""
        with _lock:
            tags = list(_orphaned)
        restored = 0
        for tag in tags:
            try:
                self.restore_by_tag(tag)
            except _RESTORE_ERRORS:
                continue
            restored += 1
            with _lock:
                _orphaned.discard(tag)
        if restored:
            log.warning("restored %d message(s) held when the broker connection was lost", restored)


class Channel(kombu_redis.Channel):  # type: ignore[misc]
    QoS = QoS

    def basic_consume(self, queue: str, *args: Any, **kwargs: Any) -> Any:
        if _orphaned:
            self.qos.restore_orphans()
        return super().basic_consume(queue, *args, **kwargs)


class Transport(kombu_redis.Transport):  # type: ignore[misc]
    Channel = Channel


def queue_depths(broker_url: str) -> dict[str, int]:
    """Messages waiting in each queue, plus ``unacked`` (held by workers); empty if not Redis or down."""
    from celeryconfig import QUEUES

    if not broker_url.startswith(("redis://", "rediss://")):
        return {}
    client = redis.Redis.from_url(broker_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        return {**{queue: int(client.llen(queue)) for queue in QUEUES}, "unacked": int(client.hlen("unacked"))}
    except redis.RedisError:  # a broker that is down has no depth to report; callers show that
        return {}
