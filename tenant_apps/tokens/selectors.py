"""Reads of API tokens (the current organization's schema)."""

from datetime import timedelta
from typing import Any
from uuid import UUID

from django.db.models import Q
from django.utils import timezone

from platform_core.errors import NotFound
from platform_core.pagination import PageResult, paginate
from tenant_apps.tokens.models import ApiToken

TOUCH_SECONDS = 60


def token_for_auth(token_hash: str) -> dict[str, Any] | None:
    """The port `platform_core.ports.load_api_token`: what authentication needs
    of a live token, as a cacheable dict (expiry checked by the caller)."""
    row = (
        ApiToken.objects.filter(token_hash=token_hash, revoked_at__isnull=True)
        .values("id", "user_id", "scopes", "expires_at")
        .first()
    )
    if row is None:
        return None
    expires = row["expires_at"]
    return {
        "id": str(row["id"]),
        "user_id": str(row["user_id"]),
        "scopes": list(row["scopes"]),
        "expires_at": expires.timestamp() if expires else None,
    }


def token_touch(token_id: str) -> None:
    """The port `platform_core.ports.touch_api_token`: `last_used_at` = now,
    unless written less than a minute ago (one UPDATE, no row written then).
    Bookkeeping, not a domain change: no audit event."""
    now = timezone.now()
    ApiToken.objects.filter(id=token_id).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - timedelta(seconds=TOUCH_SECONDS))
    ).update(last_used_at=now)


def tokens_page(*, user_id: UUID | None, limit: int, cursor: str | None) -> PageResult:
    """Live tokens (of `user_id`, or everyone's for None), newest first."""
    queryset = ApiToken.objects.filter(revoked_at__isnull=True)
    if user_id is not None:
        queryset = queryset.filter(user_id=user_id)
    return paginate(queryset, ordering=("-created_at", "-id"), limit=limit, cursor=cursor)


def access_token(token_id: UUID) -> ApiToken:
    """A live token of this organization; 404 if unknown here or revoked."""
    token = ApiToken.objects.filter(id=token_id, revoked_at__isnull=True).first()
    if token is None:
        raise NotFound("No such token.")
    return token
