from datetime import datetime
from uuid import UUID

from platform_core.pagination import PageResult, paginate
from tenant_apps.audit.models import AuditEvent


def audit_events_page(
    *,
    actor_id: UUID | None = None,
    action: str | None = None,
    target_type: str | None = None,
    target_id: UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int,
    cursor: str | None,
) -> PageResult:
    """Newest first; every filter is backed by an index of AuditEvent."""
    queryset = AuditEvent.objects.all()
    if actor_id:
        queryset = queryset.filter(actor_id=actor_id)
    if action:
        queryset = queryset.filter(action=action)
    if target_type:
        queryset = queryset.filter(target_type=target_type)
    if target_id:
        queryset = queryset.filter(target_id=target_id)
    if since:
        queryset = queryset.filter(at__gte=since)
    if until:
        queryset = queryset.filter(at__lt=until)
    return paginate(queryset, ordering=("-at", "-id"), limit=limit, cursor=cursor)
