"""Process-local copies of the request-path cache (hosts, users, sessions, roles).

The request path reads the same few Redis keys on every request (the host's
organization; the user, session and role behind a token). Each process keeps
what it read in memory, and writers push invalidations through Redis:

- a writer deletes the Redis keys and PUBLISHes them on the invalidation
  channel in one round trip (`platform_core.cache.cache_delete_many`);
- every process is subscribed to that channel, and before it serves anything
  from memory the reading thread applies what has arrived on the
  subscription (a non-blocking read of the socket). A writer's PUBLISH is
  written to every subscriber's socket before the writer's own reply, so by
  the time its client has its answer and sends the next request, the
  invalidation is waiting in every process: logout, removal and role changes
  still take effect on the next request;
- an entry read from Redis is kept only if no invalidation was applied while
  it was being read (the epoch check), so a read racing a write cannot pin
  the old value in memory;
- without a working subscription (Redis down, a dropped connection) the memory
  is cleared and not used until the subscription is back: every lookup goes to
  Redis (or PostgreSQL), as without this layer.

Entries also expire after NEAR_CACHE_TTL seconds and the cache holds at most
NEAR_CACHE_MAX_ENTRIES (least recently used first out). Values are shared
between threads: callers must not mutate them.
"""

import json
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger("platform_core.cache")

FLUSH_ALL = "*"
RETRY_SECONDS = 1.0


class NearCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._pubsub: Any = None  # redis.client.PubSub, subscribed
        self._pid = 0
        self._epoch = 0
        self._retry_at = 0.0

    @staticmethod
    def channel() -> str:
        """One channel per cache database, so unrelated installations sharing a
        Redis server only cost each other a few extra misses."""
        return f"near-cache:invalidate:{settings.CACHE_REDIS_URL.rsplit('/', 1)[-1]}"

    # --- reading ---------------------------------------------------------------------

    def lookup(self, keys: list[str]) -> tuple[dict[str, Any], int | None]:
        """(entries found in memory, epoch to pass to `keep`), after applying the
        pending invalidations; epoch None when memory is not usable now."""
        if not settings.NEAR_CACHE_ENABLED:
            return {}, None
        with self._lock:
            if not self._sync():
                return {}, None
            now = time.monotonic()
            found: dict[str, Any] = {}
            for key in keys:
                entry = self._entries.get(key)
                if entry is None:
                    continue
                if entry[0] < now:
                    del self._entries[key]
                    continue
                self._entries.move_to_end(key)
                found[key] = entry[1]
            return found, self._epoch

    def keep(self, values: dict[str, Any], epoch: int | None) -> None:
        """Keep values just read from Redis, unless an invalidation was applied
        since `lookup` returned `epoch`."""
        if epoch is None or not values:
            return
        with self._lock:
            if epoch != self._epoch or self._pubsub is None:
                return
            expires = time.monotonic() + settings.NEAR_CACHE_TTL
            for key, value in values.items():
                self._entries[key] = (expires, value)
                self._entries.move_to_end(key)
            while len(self._entries) > settings.NEAR_CACHE_MAX_ENTRIES:
                self._entries.popitem(last=False)

    # --- invalidating -----------------------------------------------------------------

    def forget(self, keys: Iterable[str]) -> None:
        """Drop keys from this process's memory now (the writer's own process;
        the others hear it from the channel)."""
        with self._lock:
            self._epoch += 1
            for key in keys:
                self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._clear()

    @classmethod
    def message(cls, keys: list[str] | None) -> str:
        """The channel payload for `keys` (None: every key)."""
        return FLUSH_ALL if keys is None else json.dumps(keys)

    # --- the subscription (called with the lock held) ---------------------------------

    def _clear(self) -> None:
        self._epoch += 1
        self._entries.clear()

    def _sync(self) -> bool:
        if self._pid != os.getpid():  # a forked child: the parent's socket is not ours
            self._pid, self._pubsub = os.getpid(), None
            self._clear()
        if self._pubsub is None and not self._subscribe():
            return False
        try:
            # The common case, nothing arrived, is one poll of the socket
            # (get_message alone goes through redis-py's retry machinery).
            if not self._pubsub.connection.can_read(0):
                return True
            while (message := self._pubsub.get_message(timeout=0)) is not None:
                if message["type"] == "message":
                    self._apply(message["data"])
                else:  # a new "subscribe": redis-py reconnected, messages may be lost
                    self._clear()
        except Exception as exc:  # the subscription broke: messages may be lost
            log.warning("near cache: invalidation channel lost (%s); memory cleared", exc.__class__.__name__)
            self._drop_subscription()
            return False
        return True

    def _apply(self, data: bytes) -> None:
        self._epoch += 1
        if data == FLUSH_ALL.encode():
            self._entries.clear()
            return
        try:
            keys = json.loads(data)
        except ValueError:
            self._entries.clear()
            return
        for key in keys:
            self._entries.pop(key, None)

    def _subscribe(self) -> bool:
        now = time.monotonic()
        if now < self._retry_at:
            return False
        try:
            client = redis.Redis.from_url(
                settings.CACHE_REDIS_URL,
                socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT,
                socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
                retry=Retry(NoBackoff(), 0),  # a lost connection surfaces (and clears the memory)
            )
            pubsub = client.pubsub()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
            pubsub.subscribe(self.channel())
            # Wait for the confirmation: from then on no invalidation is missed.
            deadline = now + settings.REDIS_SOCKET_TIMEOUT
            while True:
                message = pubsub.get_message(timeout=max(0.0, deadline - time.monotonic()))
                if message is not None and message["type"] == "subscribe":
                    break
                if time.monotonic() >= deadline:
                    raise TimeoutError("no subscribe confirmation")
        except Exception as exc:
            self._retry_at = now + RETRY_SECONDS
            log.debug("near cache: not subscribed (%s)", exc.__class__.__name__)
            return False
        self._pubsub = pubsub
        self._clear()  # anything kept before may have missed an invalidation
        return True

    def _drop_subscription(self) -> None:
        try:
            self._pubsub.close()
        except Exception:
            pass
        self._pubsub = None
        self._retry_at = time.monotonic() + RETRY_SECONDS
        self._clear()


near_cache = NearCache()
