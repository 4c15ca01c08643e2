"""Operator reads of the organization registry (public schema)."""

from django.db import connection
from django.db.models import Count, QuerySet

from platform_core.errors import NotFound
from platform_core.pagination import PageResult, paginate
from shared_apps.orgs.models import Organization, OrgStatus

LISTED_BY_DEFAULT = (OrgStatus.ACTIVE, OrgStatus.SUSPENDED, OrgStatus.DELETED)
ORDERING = ("-created_at", "-id")


def schema_sizes(schema_names: list[str]) -> dict[str, int]:
    """Bytes on disk per schema (tables with their indexes and TOAST), in one query."""
    if not schema_names:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT n.nspname, COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::bigint
              FROM pg_namespace n
              LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'm', 'p')
             WHERE n.nspname = ANY(%s)
             GROUP BY n.nspname
            """,
            [list(schema_names)],
        )
        return {name: int(size) for name, size in cursor.fetchall()}


def _with_sizes(orgs: list[Organization]) -> list[Organization]:
    sizes = schema_sizes([o.schema_name for o in orgs if o.schema_dropped_at is None])
    for org in orgs:
        org.schema_size = sizes.get(org.schema_name)
    return orgs


def platform_orgs_queryset(*, status: str | None = None) -> QuerySet[Organization]:
    queryset: QuerySet[Organization] = Organization.objects.exclude(schema_name="public").annotate(
        member_count=Count("memberships")
    )
    if status:
        return queryset.filter(status=status)
    return queryset.filter(status__in=LISTED_BY_DEFAULT)


def platform_orgs_page(*, status: str | None, limit: int, cursor: str | None) -> PageResult:
    """A page of organizations, newest first, with member counts and schema sizes: two queries."""
    page = paginate(
        platform_orgs_queryset(status=status), ordering=ORDERING, limit=limit, cursor=cursor
    )
    _with_sizes(page.items)
    return page


def platform_org_detail(*, slug: str) -> Organization:
    org = platform_orgs_queryset().filter(slug=slug).first()
    if org is None:
        raise NotFound("No such organization.", code="org_not_found")
    return _with_sizes([org])[0]


def platform_org_refresh(org: Organization) -> Organization:
    """The registry row of `org` as listed (after a service changed it)."""
    fresh = platform_orgs_queryset(status=org.status).get(id=org.id)
    return _with_sizes([fresh])[0]


def orgs_all(*, status: str | None = None, include_spares: bool = False) -> list[Organization]:
    """For the CLI listing: every organization, oldest first."""
    queryset: QuerySet[Organization] = Organization.objects.exclude(schema_name="public").annotate(
        member_count=Count("memberships")
    )
    if status:
        queryset = queryset.filter(status=status)
    elif not include_spares:
        queryset = queryset.exclude(status=OrgStatus.SPARE)
    return _with_sizes(list(queryset.order_by("created_at", "id")))
