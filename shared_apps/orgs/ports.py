"""This app's side of `platform_core.ports`: roles, hosts and live schemas.

Registered in `OrgsConfig.ready()`, so `platform_core.auth`, `.tenancy` and
`.jobs` need no import of this app."""

from django_tenants.utils import get_public_schema_name, schema_context

from shared_apps.orgs.models import Domain, Membership, Organization


def load_role(org_id: str, user_id: str) -> str | None:
    return (
        Membership.objects.filter(organization_id=org_id, user_id=user_id)
        .values_list("role", flat=True)
        .first()
    )


def load_host(hostname: str) -> dict | None:
    domain = (
        Domain.objects.select_related("tenant")
        .filter(domain=hostname)
        .only("tenant__id", "tenant__schema_name", "tenant__slug", "tenant__name", "tenant__status")
        .first()
    )
    if domain is None:
        return None
    org = domain.tenant
    return {
        "id": str(org.id),
        "schema_name": org.schema_name,
        "slug": org.slug or "",
        "name": org.name,
        "status": org.status,
    }


def schema_is_live(schema: str) -> bool:
    with schema_context(get_public_schema_name()):
        return Organization.objects.filter(schema_name=schema, schema_dropped_at__isnull=True).exists()
