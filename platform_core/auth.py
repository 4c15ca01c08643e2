"""Who is calling: JWT bearer -> user -> (on organization hosts) membership and role.

Access tokens are short-lived and carry the session id (`sid`); every request
checks that the session is not revoked and that the user is still active, so
logout, refresh-token reuse and deactivation take effect at once. The role is
re-read per request (from Redis in the steady state), so a removed member
loses access on the very next request.

Users, sessions and roles are read through `platform_core.ports` (registered
by `shared_apps.accounts` and `shared_apps.orgs`): this module imports no app.
"""

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
    cache_get_many,
    cache_set,
    member_key,
    session_key,
    user_key,
)
from platform_core.errors import Forbidden, Unauthorized
from platform_core.http import AppRequest, OrgRequest
from platform_core.permissions import Action, can
from platform_core.ports import load_role, load_user, session_owner


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
        user, role = user_from_access_token(token, org_id=str(org.id))
        if role is None:
            raise Forbidden("You are not a member of this organization.", code="not_a_member")
        request.user_auth = user
        request.actor = Actor(
            user_id=UUID(user.id), email=user.email, name=user.name, org_id=UUID(str(org.id)), role=role
        )
        return request.actor


jwt_auth = JWTAuth()
operator_auth = OperatorAuth()
member_auth = MemberAuth()
