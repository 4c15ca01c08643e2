"""Tenant-safe caching.

Two layers:
- cacheops (ORM query cache) for tenant tables: keys are prefixed with the
  schema (`cacheops_prefix`), so identical SQL in two schemas never shares
  an entry.
- The request-path cache (`platform` alias in Redis): host -> organization,
  (organization, user) -> role, user, session state. Keys name the
  organization explicitly; writes invalidate them at once (shared_apps.orgs.signals).
  Each process also keeps them in memory, invalidated through Redis pub/sub
  (platform_core.near_cache).
- Rendered responses (`VersionedCache`, same alias): pre-rendered, gzipped
  bodies per schema behind versions that writers bump after commit.

Redis being down never fails a request: reads miss and fall back to
PostgreSQL, writes are skipped, and the degradation is logged at most once
per interval.
"""

import hashlib
import logging
import time
from collections.abc import Iterable
from random import random
from typing import Any, cast

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.core.signals import setting_changed
from django.db import connection
from django.db.models.query import QuerySet
from django.dispatch import receiver

from platform_core.near_cache import near_cache

log = logging.getLogger("platform_core.cache")

WARN_INTERVAL_SECONDS = 30.0
_last_warning = 0.0
# Set when a cache operation failed in this process: an invalidation may have
# been lost (ours or cacheops'), so the cache is flushed once Redis answers again.
_flush_pending = False

MISSING = "__missing__"  # negative-cache marker


def cacheops_prefix(query: object) -> str:
    """CACHEOPS_PREFIX: every cacheops key and invalidation set is per schema."""
    return f"{connection.schema_name}:"  # type: ignore[attr-defined]  # django-tenants' connection


_platform_cache: RedisCache | None = None


def _platform() -> RedisCache:
    """One backend (and Redis client and pool) per process. Django's `caches[...]`
    is per request context under ASGI, which would open a connection per
    request; the backend's client is thread-safe."""
    global _platform_cache
    if _platform_cache is None:
        # The `platform` alias is a Redis cache (platform_core.cache_backend.RedisCache).
        _platform_cache = cast(RedisCache, caches.create_connection("platform"))
    return _platform_cache


@receiver(setting_changed)
def _caches_changed(*, setting: str, **kwargs: object) -> None:
    global _platform_cache
    if setting == "CACHES":
        _platform_cache = None


def redis_pipeline() -> Any:
    """A pipeline (no MULTI) on this process's cache Redis client: several
    commands, one round trip."""
    return _platform()._cache.get_client(write=True).pipeline(transaction=False)


def cache_key(key: str) -> str:
    """The full Redis key of a `platform` cache key (prefix and version), for
    callers that send raw commands through `redis_pipeline`."""
    return _platform().make_and_validate_key(key)


def degraded(op: str, exc: Exception) -> None:
    """Note a failed cache operation: logged at most once per interval, and the
    cache is flushed once Redis answers again (an invalidation may be lost)."""
    _degraded(op, exc)


def _degraded(op: str, exc: Exception) -> None:
    global _last_warning, _flush_pending
    _flush_pending = True
    now = time.monotonic()
    if now - _last_warning >= WARN_INTERVAL_SECONDS:
        _last_warning = now
        log.warning("redis unavailable (%s: %s); serving from PostgreSQL", op, exc.__class__.__name__)


def _flush_after_outage() -> None:
    """Redis is back after failures in this process: drop every cached entry
    (platform keys and cacheops), since invalidations may have been missed.
    Caches sit in their own Redis database, so queued jobs are untouched."""
    global _flush_pending
    cache_clear_all()
    _flush_pending = False
    log.warning("redis reachable again; cache flushed after outage")


def cache_clear_all() -> None:
    """Empty the cache database and every process's near cache."""
    client = _platform()._cache.get_client(write=True)
    pipe = client.pipeline(transaction=False)
    pipe.flushdb()
    pipe.publish(near_cache.channel(), near_cache.message(None))
    pipe.execute()
    near_cache.clear()


def cache_get_many(keys: list[str]) -> dict[str, Any]:
    """The request-path entries of `keys` that are cached: from this process's
    memory (platform_core.near_cache) when it holds them, else from Redis."""
    found, epoch = near_cache.lookup(keys)
    missing = [key for key in keys if key not in found] if found else keys
    if not missing:
        return found
    try:
        if _flush_pending:
            _flush_after_outage()
        fetched = _platform().get_many(missing)
    except Exception as exc:  # redis down or timing out
        _degraded("get", exc)
        return found
    near_cache.keep(fetched, epoch)
    return found | fetched if found else fetched


def cache_set(key: str, value: object, timeout: int = 300) -> None:
    try:
        _platform().set(key, value, timeout)
    except Exception as exc:
        _degraded("set", exc)


def cache_delete_many(keys: list[str]) -> None:
    """Delete `keys` from Redis and from every process's near cache: DEL and
    PUBLISH in one round trip."""
    if not keys:
        return
    near_cache.forget(keys)
    try:
        cache = _platform()
        pipe = cache._cache.get_client(write=True).pipeline(transaction=False)
        pipe.delete(*(cache.make_and_validate_key(key) for key in keys))
        pipe.publish(near_cache.channel(), near_cache.message(keys))
        pipe.execute()
    except Exception as exc:
        _degraded("delete", exc)


def cache_incr_window(key: str, window: int) -> int | None:
    """Count an event in a fixed window; None when Redis is unavailable."""
    try:
        client = _platform()._cache.get_client(key, write=True)
        full_key = _platform().make_and_validate_key(key)
        pipe = client.pipeline()
        pipe.incr(full_key)
        pipe.expire(full_key, window, nx=True)
        count, _ = pipe.execute()
        return int(count)
    except Exception as exc:
        _degraded("incr", exc)
        return None


def cache_window_count(key: str) -> int:
    """The current count of a window started by cache_incr_window (0 if none or Redis is down)."""
    try:
        client = _platform()._cache.get_client(key)
        return int(client.get(_platform().make_and_validate_key(key)) or 0)
    except Exception as exc:
        _degraded("get", exc)
        return 0


def cache_ttl(key: str) -> int:
    try:
        client = _platform()._cache.get_client(key)
        return max(1, int(client.ttl(_platform().make_and_validate_key(key))))
    except Exception:
        return 1


# Key builders: one place, so readers and invalidators agree.
def host_key(hostname: str) -> str:
    if len(hostname) > 100:  # keep keys short whatever the Host header
        return "host:#" + hashlib.sha256(hostname.encode()).hexdigest()
    return f"host:{hostname}"


def member_key(org_id: object, user_id: object) -> str:
    return f"member:{org_id}:{user_id}"


def user_key(user_id: object) -> str:
    return f"user:{user_id}"


def session_key(session_id: object) -> str:
    return f"sid:{session_id}"


def api_token_key(org_id: object, token_hash: str) -> str:
    """An API token by the hash of its secret, in one organization (tokens live
    in the organization's schema: the same hash under another organization is
    another key, and never found there)."""
    return f"apitoken:{org_id}:{token_hash}"


def invalidate_rows(objs: Iterable[object]) -> None:
    """For bulk writes cacheops cannot see (`bulk_update`, `QuerySet.update`):
    invalidate the cached queries of each row, in the current schema. Inside a
    transaction cacheops queues this until commit; Redis down is tolerated."""
    from cacheops import invalidate_obj  # cycle: cacheops imports this module (CACHEOPS_PREFIX)

    for obj in objs:
        invalidate_obj(obj)


class VersionedCache:
    """Rendered responses per object, keyed by schema: `{schema}:{namespace}:{id}:...`.

    An object has one version (`...:{id}:v`) and any number of rendered
    entries (`...:{id}:{variant}`: the board detail, the pages of GET /tasks
    on that board...), each stored with the version current when its data was
    read; writers bump the version after commit. One MGET reads the version
    and an entry, and an entry whose version is not the current one is a
    miss: a reader that raced a write stores its copy under a retired
    version, so a stale copy is never served, and one bump retires every
    variant at once. Redis down: a miss, never an error.

    Versions never repeat, even when Redis loses them (a flush after an
    outage, an eviction, expiry): a missing version starts at the current
    time in microseconds (`SET NX`), which is past every version handed out
    before (those started earlier and grow by one per write). So a version
    can also serve as an HTTP validator (ETag) without a reset ever matching
    an old one, and version keys may expire: a version created by a read
    lives PROVISIONAL_SECONDS (a request for an id that does not exist leaves
    nothing behind for long), and storing an entry extends it to
    VERSION_SECONDS, longer than any entry lives.
    """

    PROVISIONAL_SECONDS = 60
    VERSION_SECONDS = 2 * 24 * 3600

    def __init__(self, namespace: str, timeout: int = 24 * 3600) -> None:
        self.namespace = namespace
        self.timeout = timeout

    def _version_key(self, schema: str, obj_id: object) -> str:
        return f"{schema}:{self.namespace}:{obj_id}:v"

    def _entry_key(self, schema: str, obj_id: object, variant: str) -> str:
        return f"{schema}:{self.namespace}:{obj_id}:{variant}"

    def get(self, schema: str, obj_id: object, variant: str = "body") -> tuple[int | None, Any]:
        """(version, cached value or None); version None means: do not store."""
        if not settings.RESPONSE_CACHE_ENABLED:
            return None, None
        version_key, entry_key = self._version_key(schema, obj_id), self._entry_key(schema, obj_id, variant)
        cache = _platform()
        try:
            found = cache.get_many([version_key, entry_key])
            version = found.get(version_key)
            if version is None:  # never bumped, or lost: start past every earlier version
                cache.add(version_key, _fresh_version(), self.PROVISIONAL_SECONDS)
                version = cache.get(version_key)
                if version is None:
                    return None, None
        except Exception as exc:
            _degraded("get", exc)
            return None, None
        entry = found.get(entry_key)
        if entry is not None and entry[0] == version:
            return int(version), entry[1]
        return int(version), None

    def set(self, schema: str, obj_id: object, version: int | None, value: object, variant: str = "body") -> None:
        if version is None:
            return
        cache = _platform()
        try:
            cache.set(self._entry_key(schema, obj_id, variant), (version, value), self.timeout)
            cache.touch(self._version_key(schema, obj_id), self.VERSION_SECONDS)
        except Exception as exc:
            _degraded("set", exc)

    def bump(self, schema: str, *obj_ids: object) -> None:
        """Retire every entry of each of `obj_ids`: one MULTI of `SET NX <now>`
        + `INCR` per object (a missing version starts past every earlier one;
        INCR is atomic, so two concurrent bumps never count once)."""
        if not obj_ids:
            return
        cache = _platform()
        try:
            keys = [cache.make_and_validate_key(self._version_key(schema, obj_id)) for obj_id in obj_ids]
            pipe = cache._cache.get_client(keys[0], write=True).pipeline(transaction=True)
            self.bump_commands(pipe, keys, self.VERSION_SECONDS)
            pipe.execute()
        except Exception as exc:
            _degraded("delete", exc)

    def queue_bump(self, pipe: Any, schema: str, *obj_ids: object) -> None:
        """`bump`'s commands for `obj_ids`, queued on `pipe` (for callers that
        send other commands in the same round trip)."""
        cache = _platform()
        keys = [cache.make_and_validate_key(self._version_key(schema, obj_id)) for obj_id in obj_ids]
        self.bump_commands(pipe, keys, self.VERSION_SECONDS)

    @staticmethod
    def bump_commands(pipe: Any, full_keys: list[str], ttl: int) -> None:
        """The bump's commands for full (prefixed) version keys, queued on `pipe`
        (for callers that send other commands in the same round trip)."""
        fresh = _fresh_version()
        for key in full_keys:
            pipe.set(key, fresh, nx=True, ex=ttl)
            pipe.incr(key)


def _fresh_version() -> int:
    return time.time_ns() // 1000


board_detail_cache = VersionedCache("board_detail")
# GET /tasks pages that name no board are retired by any board write of the
# organization: they hang on this one object of board_detail_cache.
ALL_BOARDS = "*"


# --- closing cacheops' read/invalidate race ---------------------------------------


def install_fresh_queryset_cache() -> None:
    """Make cacheops' queryset cache never store a result an invalidation overtook.

    cacheops' own `_fetch_all` has a race: a reader misses, reads rows just
    before a writer commits, and stores them just after the writer's
    invalidation; the stale entry is then served until the next invalidation.
    This version first writes a "precall" marker under the same invalidation
    sets (what cacheops' `keep_fresh` does for cached functions), runs the
    query, and stores the result only if the marker survived. Misses cost one
    more Redis call; hits are unchanged. Installed by PlatformCoreConfig.ready.
    """
    # cycle: cacheops imports this module (CACHEOPS_PREFIX)
    from cacheops.conf import settings as cacheops_settings
    from cacheops.getset import cache_thing, getting
    from cacheops.signals import cache_read

    def _fetch_all(self: Any) -> Any:
        if self._result_cache is not None or not self._should_cache("fetch"):
            return self._no_monkey._fetch_all(self)
        cache_key = self._cache_key()
        prefix, dnfs, timeout = self._prefix, self._cond_dnfs, self._cacheprofile["timeout"]
        with getting(cache_key, dnfs, prefix, lock=self._cacheprofile["lock"]) as cache_data:
            cache_read.send(sender=self.model, func=None, hit=cache_data is not None)
            if cache_data is not None:
                self._result_cache = cacheops_settings.CACHEOPS_SERIALIZER.loads(cache_data)
            else:
                precall_key = f"{prefix}qsp:{random()}"
                cache_thing(prefix, precall_key, "PRECALL", dnfs, timeout, dbs=[self.db])
                self._result_cache = list(self._iterable_class(self))
                cache_thing(
                    prefix, cache_key, self._result_cache, dnfs, timeout, dbs=[self.db], precall_key=precall_key
                )
        return self._no_monkey._fetch_all(self)

    QuerySet._fetch_all = _fetch_all  # type: ignore[method-assign]
