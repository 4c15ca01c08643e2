"""Fixed-window rate limits in Redis. Windows expire, so nobody is locked out for good."""

from platform_core.cache import cache_incr_window, cache_ttl
from platform_core.errors import RateLimited


def check_rate(key: str, *, limit: int, window: int) -> None:
    """Count one attempt under `key`; raise RateLimited (429 + Retry-After) past `limit`.

    With Redis down the limit is not enforced (logged as a degradation).
    """
    count = cache_incr_window(f"rate:{key}", window)
    if count is not None and count > limit:
        raise RateLimited(cache_ttl(f"rate:{key}"), "Too many attempts; try again later.")
