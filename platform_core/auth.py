"""Who is calling: JWT bearer -> user -> (on organization hosts) membership and role.

Access tokens are short-lived and carry the session id (`sid`); every request
checks that the session is not revoked and that the user is still active, so
logout, refresh-token reuse and deactivation take effect at once. The role is
re-read per request (from Redis in the steady state), so a removed member
loses access on the very next request.

Users, sessions and roles are read through `platform_core.ports` (registered
by `shared_apps.accounts` and `shared_apps.orgs`): this module imports no app.
"""

import hashlib
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast
from uuid import UUID

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest
from ninja.security import HttpBearer
from ninja_jwt.exceptions import TokenError
from ninja_jwt.tokens import AccessToken

from platform_core.cache import (
    MISSING,
    api_token_key,
    cache_get_many,
    cache_set,
    member_key,
    session_key,
    user_key,
)
from platform_core.context import token_id_var
from platform_core.errors import Forbidden, Unauthorized
from platform_core.http import AppRequest, OrgRequest
from platform_core.permissions import Action, can
from platform_core.ports import load_api_token, load_role, load_user, session_owner, touch_api_token

TOKEN_PREFIX = "thk_"  # API tokens (tenant_apps.tokens); anything else is a JWT
# last_used_at is written at most once per this many seconds per token and process
# (and the UPDATE itself skips rows written less than this long ago).
TOKEN_TOUCH_SECONDS = 60


@dataclass(frozen=True)
class AuthUser:
    id: str
    email: str
    name: str
    is_staff: bool
    session_id: str

    is_authenticated = True


@dataclass(frozen=True)
class Actor:
    """A member acting in the current organization."""

    user_id: UUID
    email: str
    name: str
    org_id: UUID
    role: str
    # Set when the call is made with an API token: its id and scopes (the
    # permission matrix caps the role by them). None for a person's JWT.
    token_id: UUID | None = None
    scopes: frozenset[str] | None = None


def decode_access_token(raw: str) -> tuple[str, str]:
    """(user id, session id) of a valid, unexpired access token; 401 otherwise.
    A token's signature is checked once per process (an LRU of the tokens seen),
    its expiry on every call."""
    try:
        user_id, session_id, expires = _verified_claims(raw)
    except (TokenError, KeyError, ValueError, TypeError, AttributeError):
        raise Unauthorized("Token is invalid or expired.", code="token_invalid") from None
    if expires <= time.time():
        raise Unauthorized("Token is invalid or expired.", code="token_invalid")
    return user_id, session_id


@lru_cache(maxsize=10_000)  # only valid tokens are kept (an exception is not cached)
def _verified_claims(raw: str) -> tuple[str, str, float]:
    token = AccessToken(raw)
    return str(UUID(str(token["user_id"]))), str(UUID(str(token["sid"]))), float(token["exp"])


@receiver(setting_changed)
def _signing_changed(*, setting: str, **kwargs: object) -> None:
    if setting in ("NINJA_JWT", "SECRET_KEY"):
        _verified_claims.cache_clear()


def load_identity(user_id: str, session_id: str, org_id: str | None = None) -> tuple[AuthUser, str | None]:
    """The user behind a session, as it stands now, and (given an organization)
    their role there or None. 401 if the user is inactive or gone, or the
    session revoked or another user's. Steady state: one Redis MGET."""
    keys = [user_key(user_id), session_key(session_id)]
    if org_id:
        keys.append(member_key(org_id, user_id))
    cached = cache_get_many(keys)

    user: dict[str, Any] | str | None = cached.get(keys[0])
    if user is None:
        user = load_user(user_id) or MISSING
        cache_set(keys[0], user)
    owner = cached.get(keys[1])
    if owner is None:
        owner = session_owner(session_id)
        cache_set(keys[1], owner)
    if user == MISSING or owner != user_id:  # revoked, or another user's session
        raise Unauthorized("Token is invalid or expired.", code="token_invalid")

    role = None
    if org_id:
        role = cached.get(keys[2])
        if role is None:
            role = load_role(org_id, user_id) or MISSING
            cache_set(keys[2], role)
        role = None if role == MISSING else role
    return AuthUser(session_id=session_id, **cast(dict[str, Any], user)), role


def user_from_access_token(raw: str, org_id: str | None = None) -> tuple[AuthUser, str | None]:
    """Validate an access token; return the user and, given an organization, the role (or None)."""
    user_id, session_id = decode_access_token(raw)
    return load_identity(user_id, session_id, org_id)


def _bearer(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class JWTAuth(HttpBearer):
    """Any signed-in user (root host, and `POST /invites/accept`)."""

    def __call__(self, request: HttpRequest) -> AuthUser | Actor:
        token = _bearer(request)
        if token is None:
            raise Unauthorized()
        return self.authenticate(cast(AppRequest, request), token)

    def authenticate(self, request: AppRequest, token: str) -> AuthUser | Actor:  # type: ignore[override]  # Ninja passes the request our middleware decorated
        user, _ = user_from_access_token(token)
        request.user_auth = user
        return user


class OperatorAuth(JWTAuth):
    def authenticate(self, request: AppRequest, token: str) -> AuthUser:  # type: ignore[override]  # as JWTAuth's
        user, _ = user_from_access_token(token)
        request.user_auth = user
        if not can(user, Action.PLATFORM_ACCESS):
            raise Forbidden("Operators only.")
        return user


class MemberAuth(JWTAuth):
    """A member of the organization the host selected; sets `request.actor`."""

    def authenticate(self, request: OrgRequest, token: str) -> Actor:  # type: ignore[override]  # as JWTAuth's
        org = request.tenant
        if token.startswith(TOKEN_PREFIX):
            return self._api_token(request, token)
        user, role = user_from_access_token(token, org_id=str(org.id))
        if role is None:
            raise Forbidden("You are not a member of this organization.", code="not_a_member")
        request.user_auth = user
        request.actor = Actor(
            user_id=UUID(user.id), email=user.email, name=user.name, org_id=UUID(str(org.id)), role=role
        )
        return request.actor

    def _api_token(self, request: OrgRequest, raw: str) -> Actor:
        """An API token of this organization: its owner with the owner's
        current role, capped by the token's scopes. An owner who left (no role
        here any more) makes the token invalid: 401, like a revoked one."""
        org = request.tenant
        token, user, role = api_token_identity(raw, str(org.id))
        if role is None:
            raise Unauthorized("Token is invalid or expired.", code="token_invalid")
        request.user_auth = user
        request.actor = Actor(
            user_id=UUID(user.id),
            email=user.email,
            name=user.name,
            org_id=UUID(str(org.id)),
            role=role,
            token_id=UUID(token["id"]),
            scopes=frozenset(token["scopes"]),
        )
        token_id_var.set(token["id"])  # reset by RequestContextMiddleware at the end of the request
        return request.actor


def hash_api_token(raw: str) -> str:
    """How API tokens are stored and looked up: sha256 of the whole secret
    (256 random bits: no salt or slow hash needed)."""
    return hashlib.sha256(raw.encode()).hexdigest()


_last_touch: dict[str, float] = {}


def _touch(token_id: str) -> None:
    now = time.monotonic()
    if now - _last_touch.get(token_id, -TOKEN_TOUCH_SECONDS) < TOKEN_TOUCH_SECONDS:
        return
    _last_touch[token_id] = now
    if len(_last_touch) > 50_000:  # a bounded memory of tokens seen
        _last_touch.clear()
        _last_touch[token_id] = now
    touch_api_token(token_id)


def _token_record(raw: str, org_id: str) -> dict[str, Any] | None:
    """The live, unexpired API token `raw` of organization `org_id` (the current
    schema) as cached, or None. Unknown secrets are cached as missing too."""
    if len(raw) > 100:
        return None
    token_hash = hash_api_token(raw)
    key = api_token_key(org_id, token_hash)
    token = cache_get_many([key]).get(key)
    if token is None:
        token = load_api_token(token_hash) or MISSING
        cache_set(key, token)
    if token == MISSING:
        return None
    token = cast(dict[str, Any], token)
    if token["expires_at"] is not None and token["expires_at"] <= time.time():
        return None
    return token


def api_token_identity(raw: str, org_id: str) -> tuple[dict[str, Any], AuthUser, str | None]:
    """(token, user, role or None) for an API token of organization `org_id`
    (the current schema); 401 if unknown here, revoked, expired, or its owner
    is inactive. Steady state: process memory (near cache), else one MGET for
    the token and one for its owner."""
    token = _token_record(raw, org_id)
    if token is None:
        raise Unauthorized("Token is invalid or expired.", code="token_invalid")
    user_id = token["user_id"]
    keys = [user_key(user_id), member_key(org_id, user_id)]
    cached = cache_get_many(keys)
    user: dict[str, Any] | str | None = cached.get(keys[0])
    if user is None:
        user = load_user(user_id) or MISSING
        cache_set(keys[0], user)
    if user == MISSING:
        raise Unauthorized("Token is invalid or expired.", code="token_invalid")
    role = cached.get(keys[1])
    if role is None:
        role = load_role(org_id, user_id) or MISSING
        cache_set(keys[1], role)
    _touch(token["id"])
    return token, AuthUser(session_id="", **cast(dict[str, Any], user)), (None if role == MISSING else role)


def caller_of(request: HttpRequest) -> str | None:
    """Who is calling, by the credentials alone, for per-caller bookkeeping
    (rate limits, idempotency keys): `u:<user id>` for a validly signed,
    unexpired JWT, `t:<token id>` for a known API token of the host's
    organization, None otherwise (the caller then counts by client address,
    so made-up credentials never buy a fresh bucket). Not authentication: the
    handler still checks everything (revocation, membership, role)."""
    raw = _bearer(request)
    if raw is None:
        return None
    if raw.startswith(TOKEN_PREFIX):
        org_id = getattr(getattr(request, "tenant", None), "id", None)
        token = _token_record(raw, str(org_id)) if org_id is not None else None
        return f"t:{token['id']}" if token is not None else None
    try:
        user_id, _ = decode_access_token(raw)
    except Unauthorized:
        return None
    return f"u:{user_id}"


def still_a_member(request: OrgRequest) -> bool:
    """Would `MemberAuth` accept this request's credentials now (a live token or
    session, an active user, a member of the host's organization)? Checked
    before replaying a stored response (platform_core.idempotency), so a
    revoked credential gets its 401 even on a retry."""
    raw = _bearer(request)
    if raw is None:
        return False
    org_id = str(request.tenant.id)
    try:
        if raw.startswith(TOKEN_PREFIX):
            role = api_token_identity(raw, org_id)[2]
        else:
            role = user_from_access_token(raw, org_id=org_id)[1]
    except Unauthorized:
        return False
    return role is not None


jwt_auth = JWTAuth()
operator_auth = OperatorAuth()
member_auth = MemberAuth()
