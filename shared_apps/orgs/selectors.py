"""Reads of the public-schema organization registry. From an organization host
every query here filters by that organization explicitly."""

from typing import Any, cast
from uuid import UUID

from django.db.models import QuerySet

from platform_core.pagination import PageResult, paginate
from shared_apps.orgs.models import Membership, Organization, OrgStatus

VISIBLE_STATUSES = (OrgStatus.ACTIVE, OrgStatus.SUSPENDED)


def org_ref(org: Organization) -> dict[str, Any]:
    return {"id": org.id, "slug": org.slug, "name": org.name, "domain": org.primary_domain}


def user_memberships(*, user_id: UUID | str) -> list[dict[str, Any]]:
    """The caller's organizations with their role: one query."""
    memberships = (
        Membership.objects.filter(user_id=user_id, organization__status__in=VISIBLE_STATUSES)
        .select_related("organization")
        .order_by("organization__slug")
    )
    return [{"org": org_ref(m.organization), "role": m.role} for m in memberships]


def org_members_page(*, org_id: UUID | str, limit: int, cursor: str | None) -> PageResult:
    queryset: QuerySet[Membership] = Membership.objects.filter(organization_id=org_id).select_related("user")
    return paginate(queryset, ordering=("joined_at", "id"), limit=limit, cursor=cursor)


def member_get(*, org_id: UUID | str, user_id: UUID | str) -> Membership | None:
    return Membership.objects.filter(organization_id=org_id, user_id=user_id).select_related("user").first()


def is_member(*, org_id: UUID | str, user_id: UUID | str) -> bool:
    """Is `user_id` a member of organization `org_id`? (assignees, from organization hosts)."""
    return Membership.objects.filter(organization_id=org_id, user_id=user_id).exists()


def org_get(*, org_id: UUID | str) -> Organization:
    """One organization by id (jobs that were handed its id); DoesNotExist if gone."""
    return cast(Organization, Organization.objects.get(id=org_id))


def org_is_active(org: Organization) -> bool:
    return org.status == OrgStatus.ACTIVE


def active_org_schemas() -> QuerySet[Organization, tuple[UUID, str]]:
    """(id, schema_name) of every active, claimed organization (platform-wide fan-outs)."""
    return cast(
        "QuerySet[Organization, tuple[UUID, str]]",
        Organization.objects.filter(status=OrgStatus.ACTIVE, slug__isnull=False).values_list("id", "schema_name"),
    )


def org_active_members(*, org_id: UUID | str) -> list[Membership]:
    """The organization's memberships of active users, with the user, in a stable order."""
    return list(
        Membership.objects.filter(organization_id=org_id, user__is_active=True).select_related("user").order_by("id")
    )


def org_for_schema(*, schema_name: str) -> Organization:
    """The organization whose schema this is (jobs running inside it); DoesNotExist if none."""
    return cast(Organization, Organization.objects.get(schema_name=schema_name))


def member_schemas_of(*, user_id: UUID | str) -> list[str]:
    """The schemas of the live (active or suspended) organizations `user_id` belongs to, in organization id order."""
    return list(
        Membership.objects.filter(user_id=user_id, organization__status__in=VISIBLE_STATUSES)
        .order_by("organization_id")
        .values_list("organization__schema_name", flat=True)
    )
