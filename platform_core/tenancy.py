"""Host -> organization resolution, cached in Redis and invalidated on change.

The domain registry is read through `platform_core.ports.load_host`
(registered by `shared_apps.orgs`): this module imports no app."""

from dataclasses import dataclass

from django.conf import settings

from platform_core.cache import MISSING, cache_get_many, cache_set, host_key
from platform_core.ports import load_host


def normalize_host(host: str) -> str:
    """Lower-case, without port and trailing dot: `Acme.Localhost.:8000` -> `acme.localhost`."""
    host = host.strip().lower()
    if host.startswith("["):  # IPv6 literal
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0].rstrip(".") if ":" in host else host.rstrip(".")


@dataclass(frozen=True)
class ResolvedTenant:
    id: str
    schema_name: str
    slug: str
    name: str
    status: str


def resolve_host(hostname: str) -> ResolvedTenant | None:
    """The organization that `hostname` selects, or None. Steady state: one Redis GET."""
    key = host_key(hostname)
    cached = cache_get_many([key]).get(key)
    if cached == MISSING:
        return None
    if cached is not None:
        return ResolvedTenant(**cached)

    row = load_host(hostname)
    if row is None:
        cache_set(key, MISSING, timeout=30)
        return None
    resolved = ResolvedTenant(**row)
    cache_set(key, resolved.__dict__, timeout=3600)
    return resolved


def is_root_host(hostname: str) -> bool:
    return hostname == settings.BASE_DOMAIN
