"""Fixed-window rate limits in Redis. Windows expire, so nobody is locked out for good.

Keys are per client address (`ip_bucket`: an IPv4 address, or the /64 an
IPv6 client controls), per account and client, or global. The client
address is `platform_core.client_ip.client_ip`'s (REMOTE_ADDR, or the
trusted proxy's header when configured).
"""

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from platform_core.auth import caller_of
from platform_core.cache import (
    cache_incr_window,
    cache_key,
    cache_ttl,
    cache_window_count,
    degraded,
    redis_pipeline,
)
from platform_core.errors import RateLimited, error_response
from platform_core.http import AppRequest

API_PREFIX = "/api/"

DETAIL = "Too many attempts; try again later."


def check_rate(key: str, *, limit: int, window: int) -> None:
    """Count one attempt under `key`; raise RateLimited (429 + Retry-After) past `limit`.

    With Redis down the limit is not enforced (logged as a degradation).
    """
    count = cache_incr_window(f"rate:{key}", window)
    if count is not None and count > limit:
        raise RateLimited(cache_ttl(f"rate:{key}"), DETAIL)


def ensure_under(key: str, *, limit: int) -> None:
    """Raise RateLimited if `key`'s window already holds `limit` events (counts nothing)."""
    if cache_window_count(f"rate:{key}") >= limit:
        raise RateLimited(cache_ttl(f"rate:{key}"), DETAIL)


def record(key: str, *, window: int) -> None:
    """Count one event (a failure) under `key` without checking it."""
    cache_incr_window(f"rate:{key}", window)


def ip_bucket(ip: str | None) -> str:
    """The unit one client controls: an IPv4 address, an IPv6 /64 (one host gets a whole /64)."""
    if not ip:
        return "none"
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return "invalid"
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
        return str(ipaddress.ip_network(f"{addr}/64", strict=False))
    return str(addr)


# --- API rate limits: per caller per organization, per IP on the root host -------------


@dataclass(frozen=True)
class Quota:
    limit: int
    remaining: int
    reset: int  # seconds until the window ends

    @property
    def exceeded(self) -> bool:
        return self.remaining < 0


def api_rate_key(request: AppRequest) -> str:
    """The bucket of a request: on an organization host the caller (user or
    API token, by its credentials; the client address without usable ones)
    in that organization; on the root host the client address."""
    org_id = getattr(request.tenant, "id", None)
    if org_id is None:
        return f"api:root:ip:{ip_bucket(request.client_ip)}"
    caller = caller_of(request) or f"ip:{ip_bucket(request.client_ip)}"
    return f"api:{org_id}:{caller}"


def count_api_call(key: str, *, limit: int, window: int) -> Quota | None:
    """Count one call in `key`'s fixed window: INCR, EXPIRE NX and TTL in one
    pipeline (one round trip, shared by every process). None if Redis is down
    (not enforced then; logged as a degradation)."""
    try:
        pipe = redis_pipeline()
        full_key = cache_key(f"rate:{key}")
        pipe.incr(full_key)
        pipe.expire(full_key, window, nx=True)
        pipe.ttl(full_key)
        count, _, ttl = pipe.execute()
    except Exception as exc:
        degraded("incr", exc)
        return None
    reset = int(ttl) if ttl and int(ttl) > 0 else window
    return Quota(limit=limit, remaining=limit - int(count), reset=reset)


class RateLimitMiddleware:
    """Every API response carries `RateLimit-Limit`, `RateLimit-Remaining` and
    `RateLimit-Reset` (seconds); a call over the limit is 429 `rate_limited`
    with `Retry-After`, before authentication or any SQL.

    Limits: API_RATE_LIMIT calls per API_RATE_WINDOW seconds per caller per
    organization, API_ROOT_RATE_LIMIT per client address on the root host;
    0 turns a limit off. Cost: one Redis round trip per API request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: AppRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        root = getattr(request.tenant, "id", None) is None
        limit = settings.API_ROOT_RATE_LIMIT if root else settings.API_RATE_LIMIT
        if limit <= 0:
            return self.get_response(request)
        quota = count_api_call(api_rate_key(request), limit=limit, window=settings.API_RATE_WINDOW)
        if quota is not None and quota.exceeded:
            response: HttpResponse = error_response(
                RateLimited(quota.reset, "Too many requests; slow down and retry after the time in Retry-After.")
            )
        else:
            response = self.get_response(request)
        if quota is None:
            quota = Quota(limit=limit, remaining=limit, reset=settings.API_RATE_WINDOW)
        response["RateLimit-Limit"] = str(quota.limit)
        response["RateLimit-Remaining"] = str(max(0, quota.remaining))
        response["RateLimit-Reset"] = str(quota.reset)
        return response
