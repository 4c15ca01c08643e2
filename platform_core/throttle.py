"""Fixed-window rate limits in Redis. Windows expire, so nobody is locked out for good.

Keys are per client address (`ip_bucket`: an IPv4 address, or the /64 an
IPv6 client controls), per account and client, or global. The client
address is `platform_core.client_ip.client_ip`'s (REMOTE_ADDR, or the
trusted proxy's header when configured).
"""

import ipaddress

from platform_core.cache import cache_incr_window, cache_ttl, cache_window_count
from platform_core.errors import RateLimited

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
