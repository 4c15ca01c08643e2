"""Host -> organization resolution, cached in Redis and invalidated on change."""

from dataclasses import dataclass

from django.conf import settings

from platform_core.cache import MISSING, cache_get_many, cache_set, host_key


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

    from shared_apps.orgs.models import Domain

    domain = (
        Domain.objects.select_related("tenant")
        .filter(domain=hostname)
        .only("tenant__id", "tenant__schema_name", "tenant__slug", "tenant__name", "tenant__status")
        .first()
    )
    if domain is None:
        cache_set(key, MISSING, timeout=30)
        return None
    org = domain.tenant
    resolved = ResolvedTenant(
        id=str(org.id), schema_name=org.schema_name, slug=org.slug or "", name=org.name, status=org.status
    )
    cache_set(key, resolved.__dict__, timeout=3600)
    return resolved


def is_root_host(hostname: str) -> bool:
    return hostname == settings.BASE_DOMAIN
