"""API tokens: create (the secret shown once), revoke, and revoke a leaving member's.

The request path finds a token through the request-path cache
(platform_core.auth.api_token_identity, key `apitoken:{org}:{hash}`); every
revocation deletes that key at once and again after commit, so the very next
request (any process: the near cache is invalidated by pub/sub) answers 401.
"""

import secrets
from datetime import timedelta
from uuid import UUID

from django.db import connection, transaction
from django.utils import timezone

from platform_core.auth import TOKEN_PREFIX, Actor, hash_api_token
from platform_core.cache import api_token_key, cache_delete_many
from tenant_apps.audit.services import audit_record
from tenant_apps.tokens.models import ApiToken

PREFIX_CHARS = 12  # "thk_" + 8 characters of the secret: enough to tell tokens apart


def _forget(org_id: object, token_hashes: list[str]) -> None:
    keys = [api_token_key(org_id, token_hash) for token_hash in token_hashes]
    cache_delete_many(keys)
    transaction.on_commit(lambda: cache_delete_many(keys))


@transaction.atomic
def token_create(
    *, actor: Actor, name: str, scopes: list[str], expires_in_days: int | None = None
) -> tuple[ApiToken, str]:
    """A new token of `actor` in this organization; returns it with its secret
    (which is stored only as a hash)."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = timezone.now()
    token = ApiToken.objects.create(
        user_id=actor.user_id,
        name=name,
        scopes=sorted(set(scopes)),
        prefix=raw[:PREFIX_CHARS],
        token_hash=hash_api_token(raw),
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    _forget(actor.org_id, [token.token_hash])  # a lookup that missed before may have cached "unknown"
    audit_record(
        actor=actor,
        action="token.created",
        target=token,
        changes={"name": name, "scopes": token.scopes, "prefix": token.prefix},
    )
    return token, raw


@transaction.atomic
def token_revoke(*, actor: Actor, token: ApiToken) -> None:
    locked = ApiToken.objects.select_for_update().get(id=token.id)
    if locked.revoked_at is not None:
        return
    audit_record(actor=actor, action="token.revoked", target=locked, changes={"prefix": locked.prefix})
    ApiToken.objects.filter(id=locked.id).update(revoked_at=timezone.now())
    _forget(actor.org_id, [locked.token_hash])


def tokens_revoke_for_user(*, org_id: object, user_id: UUID | str) -> int:
    """Revoke every live token of `user_id` here (they left or were removed).
    Runs inside the membership change's transaction (a signal receiver);
    the membership change's own event records it."""
    if not connection.in_atomic_block:
        raise RuntimeError("tokens_revoke_for_user must run inside the membership change's transaction")
    live = ApiToken.objects.select_for_update().filter(user_id=user_id, revoked_at__isnull=True)
    hashes = list(live.values_list("token_hash", flat=True))
    if hashes:
        ApiToken.objects.filter(token_hash__in=hashes).update(revoked_at=timezone.now())
        _forget(org_id, hashes)
    return len(hashes)
