"""Sign-up, tokens (issue, rotate, revoke) and sessions."""

import hashlib
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from ninja_jwt.exceptions import TokenBackendError
from ninja_jwt.state import token_backend
from ninja_jwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from ninja_jwt.tokens import RefreshToken
from ninja_jwt.utils import datetime_from_epoch

from platform_core.errors import Conflict, Forbidden, InvalidInput, Unauthorized
from platform_core.throttle import check_rate, ensure_under, ip_bucket, record
from shared_apps.accounts.changes import user_deactivated
from shared_apps.accounts.models import AuthSession, User, normalize_email

# Compared against when the email is unknown, so both paths cost one hash.
_DUMMY_PASSWORD_HASH = None


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str


def signup_throttle(*, client_ip: str | None) -> None:
    """Per client IP (every attempt, whatever its outcome) and platform-wide.

    Sign-up answers 409 `email_taken` for an existing email (the API contract
    keeps it); these limits make that answer too slow to enumerate accounts
    with (SIGNUP_RATE_PER_IP a window per client, SIGNUP_RATE_GLOBAL for
    everyone), and sign-up too slow to exhaust the servers with."""
    check_rate(
        f"signup:ip:{ip_bucket(client_ip)}", limit=settings.SIGNUP_RATE_PER_IP, window=settings.SIGNUP_RATE_WINDOW
    )
    check_rate("signup:all", limit=settings.SIGNUP_RATE_GLOBAL, window=settings.SIGNUP_RATE_GLOBAL_WINDOW)


def user_signup(*, email: str, password: str, name: str, client_ip: str | None = None) -> User:
    signup_throttle(client_ip=client_ip)
    email = normalize_email(email)
    candidate = User(email=email, name=name.strip())
    try:
        password_validation.validate_password(password, user=candidate)
    except DjangoValidationError as exc:
        raise InvalidInput(" ".join(exc.messages), loc=["body", "password"]) from None
    if User.objects.filter(email__iexact=email).exists():
        raise Conflict("An account with this email already exists.", code="email_taken")
    candidate.password = make_password(password)
    try:
        with transaction.atomic():
            candidate.save(force_insert=True)
    except IntegrityError:
        raise Conflict("An account with this email already exists.", code="email_taken") from None
    return candidate


def _issue(user: User, session: AuthSession) -> TokenPair:
    # recorded as an outstanding token; ninja-jwt annotates the classmethod for_user as an instance method
    refresh = cast(RefreshToken, RefreshToken.for_user(user))  # type: ignore[misc]
    refresh["sid"] = str(session.id)
    OutstandingToken.objects.filter(jti=refresh["jti"]).update(token=str(refresh))
    return TokenPair(access=str(refresh.access_token), refresh=str(refresh))


class LoginGuard:
    """The login throttle, shared by `POST /auth/token` and the Django admin's login.

    In this order, before any password is hashed:
    1. per client IP, every attempt (LOGIN_RATE_PER_IP per LOGIN_RATE_WINDOW);
       a client over it is refused and nothing is counted against the email;
    2. per (email, client IP), failed attempts only (LOGIN_RATE_PER_EMAIL per
       window): guessing at one account from one client stops there, while the
       account's owner, from any client not over its own limits, still signs in;
    3. platform-wide, attempts that reach the hash (LOGIN_RATE_GLOBAL a minute).
    Call `failed()` after a wrong password (or an unknown or refused account).
    """

    def __init__(self, *, email: str, client_ip: str | None):
        email = normalize_email(email)
        email_key = hashlib.sha256(email.encode()).hexdigest()  # bounded key length, no raw emails in Redis
        ip = ip_bucket(client_ip)
        self.failures_key = f"login:fail:{email_key}:{ip}"
        check_rate(f"login:ip:{ip}", limit=settings.LOGIN_RATE_PER_IP, window=settings.LOGIN_RATE_WINDOW)
        ensure_under(self.failures_key, limit=settings.LOGIN_RATE_PER_EMAIL)
        check_rate("login:all", limit=settings.LOGIN_RATE_GLOBAL, window=60)

    def failed(self) -> None:
        record(self.failures_key, window=settings.LOGIN_RATE_WINDOW)


def password_matches(user: User | None, password: str) -> bool:
    """One hash whether or not the account exists (no timing oracle)."""
    global _DUMMY_PASSWORD_HASH
    if user is None:
        if _DUMMY_PASSWORD_HASH is None:
            _DUMMY_PASSWORD_HASH = make_password("not-a-real-password")
        check_password(password, _DUMMY_PASSWORD_HASH)
        return False
    return user.check_password(password)


def token_obtain(*, email: str, password: str, client_ip: str | None) -> TokenPair:
    email = normalize_email(email)
    guard = LoginGuard(email=email, client_ip=client_ip)
    user = User.objects.filter(email=email).first()
    if not password_matches(user, password) or user is None or not user.is_active:
        guard.failed()
        raise Unauthorized("Wrong email or password.", code="invalid_credentials")
    with transaction.atomic():
        session = AuthSession.objects.create(user=user)
        User.objects.filter(pk=user.pk).update(last_login=timezone.now())
        return _issue(user, session)


def _decode_refresh(raw: str) -> dict[str, Any]:
    try:
        payload: dict[str, Any] = token_backend.decode(raw, verify=True)
    except TokenBackendError:
        raise Unauthorized("Refresh token is invalid or expired.", code="token_invalid") from None
    if payload.get("token_type") != "refresh" or not payload.get("jti") or not payload.get("sid"):
        raise Unauthorized("Refresh token is invalid or expired.", code="token_invalid")
    return payload


def _blacklist(payload: dict[str, Any], raw: str) -> None:
    outstanding, _ = OutstandingToken.objects.get_or_create(
        jti=payload["jti"],
        defaults={"token": raw, "expires_at": datetime_from_epoch(payload["exp"]), "user_id": payload.get("user_id")},
    )
    BlacklistedToken.objects.get_or_create(token=outstanding)


def session_revoke(*, session: AuthSession, reason: str) -> None:
    if session.revoked_at is None:
        session.revoked_at = timezone.now()
        session.revoke_reason = reason
        session.save(update_fields=["revoked_at", "revoke_reason"])


def token_refresh(*, raw: str) -> TokenPair:
    """Rotate: the presented refresh token stops working and a new pair is issued.

    Presenting an already-rotated refresh token is treated as theft: the whole
    session (every token of that family, access tokens included) is revoked.
    """
    payload = _decode_refresh(raw)
    reused = False
    with transaction.atomic():
        session = AuthSession.objects.select_for_update().filter(id=payload["sid"]).first()
        if session is None or session.revoked_at is not None:
            raise Unauthorized("Refresh token is invalid or expired.", code="token_invalid")
        if BlacklistedToken.objects.filter(token__jti=payload["jti"]).exists():
            session_revoke(session=session, reason="refresh_reuse")
            reused = True
        else:
            user_id: Any = payload.get("user_id")  # None matches no user
            user = User.objects.filter(id=user_id, is_active=True).first()
            if user is None:
                raise Unauthorized("Refresh token is invalid or expired.", code="token_invalid")
            _blacklist(payload, raw)
            return _issue(user, session)
    assert reused
    raise Unauthorized("Refresh token was already used; the session is revoked.", code="token_reused")


def logout(*, user_id: str, raw_refresh: str) -> None:
    payload = _decode_refresh(raw_refresh)
    if str(payload.get("user_id")) != str(user_id):
        raise Forbidden("This refresh token belongs to another user.")
    with transaction.atomic():
        session = AuthSession.objects.select_for_update().filter(id=payload["sid"]).first()
        if session is not None:
            session_revoke(session=session, reason="logout")
        _blacklist(payload, raw_refresh)


@transaction.atomic
def user_deactivate(*, user: User, actor_id: UUID | str | None = None) -> None:
    """Deactivated users' tokens stop working at once (the auth cache is invalidated),
    and the pending invites they made, in every organization they belong to,
    are revoked (`invite.revoked`, reason `inviter_inactive`), all in this
    transaction (the `user_deactivated` signal: tenant_apps.invites.receivers)."""
    user.is_active = False
    user.save(update_fields=["is_active"])
    for session in AuthSession.objects.select_for_update().filter(user=user, revoked_at__isnull=True):
        session_revoke(session=session, reason="deactivated")
    user_deactivated.send(sender=User, user=user, actor_id=actor_id)
