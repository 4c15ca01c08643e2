from uuid import UUID

from django.db.models import Q
from django.utils import timezone

from platform_core.pagination import PageResult, paginate
from tenant_apps.invites.models import Invite, InviteState


def _status_filter(status: str) -> Q:
    now = timezone.now()
    if status == "pending":
        return Q(state=InviteState.PENDING, expires_at__gt=now)
    if status == "expired":
        return Q(state=InviteState.PENDING, expires_at__lte=now)
    return Q(state=status)


def invites_page(*, status: str | None = None, limit: int, cursor: str | None) -> PageResult:
    """Pending and past invites of this organization, newest first (one query)."""
    queryset = Invite.objects.all()
    if status:
        queryset = queryset.filter(_status_filter(status))
    return paginate(queryset, ordering=("-created_at", "-id"), limit=limit, cursor=cursor)


def invite_get(*, invite_id: UUID | str) -> Invite | None:
    return Invite.objects.filter(id=invite_id).first()
