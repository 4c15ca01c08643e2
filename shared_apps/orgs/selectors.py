"""Reads of the public-schema organization registry. From an organization host
every query here filters by that organization explicitly."""

from typing import Any
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
