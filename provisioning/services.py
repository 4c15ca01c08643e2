"""Creating organizations: claim a ready spare schema, or create one synchronously."""

import logging

from django.conf import settings
from django.db import IntegrityError, transaction

from platform_core.errors import Conflict
from shared_apps.accounts.models import User
from shared_apps.orgs.models import Domain, Membership, Organization, OrgStatus, PlatformEvent, Role, new_schema_name
from shared_apps.orgs.validation import validate_slug

log = logging.getLogger("provisioning")


def spare_create() -> Organization:
    """A new, fully migrated, unclaimed schema (outside any transaction: migrations run here)."""
    org = Organization(schema_name=new_schema_name(), status=OrgStatus.SPARE)
    org.save()
    return org


def _claim_spare(*, only_id=None) -> Organization | None:
    """Lock one unclaimed spare; concurrent claimers skip locked rows, so no spare is claimed twice."""
    queryset = Organization.objects.select_for_update(skip_locked=True).filter(status=OrgStatus.SPARE)
    if only_id is not None:
        queryset = queryset.filter(id=only_id)
    return queryset.order_by("created_at").first()


def _host_for(slug: str) -> str:
    return f"{slug}.{settings.BASE_DOMAIN}"


def platform_event(*, actor_id, action: str, org: Organization | None, changes: dict | None = None) -> PlatformEvent:
    from platform_core.context import current_request_id

    return PlatformEvent.objects.create(
        actor_id=actor_id,
        action=action,
        organization_id=org.id if org else None,
        changes=changes or {},
        request_id=current_request_id() or "",
    )


def org_provision(*, owner: User, name: str, slug: str, actor_id=None) -> Organization:
    """Create an organization owned by `owner`; its host works when this returns.

    Claims a spare schema from the pool in one short transaction; with the
    pool empty, creates a schema first (migrations) and then claims it.
    """
    validate_slug(slug)
    if Organization.objects.filter(slug=slug).exists() or Domain.objects.filter(domain=_host_for(slug)).exists():
        raise Conflict("This slug is taken.", code="slug_taken")

    fresh: Organization | None = None
    for _attempt in range(3):
        try:
            with transaction.atomic():
                org = _claim_spare(only_id=fresh.id if fresh else None)
                if org is None:
                    raise _NoSpare()
                org.slug, org.name, org.status = slug, name, OrgStatus.ACTIVE
                org.save(update_fields=["slug", "name", "status"])
                Domain.objects.create(domain=_host_for(slug), tenant=org, is_primary=True)
                Membership.objects.create(user=owner, organization=org, role=Role.OWNER)
                platform_event(
                    actor_id=actor_id or owner.id,
                    action="org.created",
                    org=org,
                    changes={"slug": slug, "name": name, "owner_id": str(owner.id), "from_pool": fresh is None},
                )
                return org
        except IntegrityError:
            raise Conflict("This slug is taken.", code="slug_taken") from None
        except _NoSpare:
            fresh = spare_create()
    raise RuntimeError("could not claim a freshly created schema")


class _NoSpare(Exception):
    pass
