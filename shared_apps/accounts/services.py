"""Sign-up, tokens (issue, rotate, revoke) and sessions."""

import hashlib
from dataclasses import dataclass

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
from platform_core.throttle import check_rate
from shared_apps.accounts.models import AuthSession, User, normalize_email

# Compared against when the email is unknown, so both paths cost one hash.
_DUMMY_PASSWORD_HASH = None


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str


def user_signup(*, email: str, password: str, name: str) -> User:
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
    refresh = RefreshToken.for_user(user)  # recorded as an outstanding token
    refresh["sid"] = str(session.id)
    OutstandingToken.objects.filter(jti=refresh["jti"]).update(token=str(refresh))
    return TokenPair(access=str(refresh.access_token), refresh=str(refresh))


def token_obtain(*, email: str, password: str, client_ip: str | None) -> TokenPair:
    global _DUMMY_PASSWORD_HASH
    email = normalize_email(email)
    email_key = hashlib.sha256(email.encode()).hexdigest()  # bounded key length, no raw emails in Redis
    check_rate(f"login:email:{email_key}", limit=settings.LOGIN_RATE_PER_EMAIL, window=settings.LOGIN_RATE_WINDOW)
    if client_ip:
        check_rate(f"login:ip:{client_ip}", limit=settings.LOGIN_RATE_PER_IP, window=settings.LOGIN_RATE_WINDOW)
    user = User.objects.filter(email=email).first()
    if user is None:
        if _DUMMY_PASSWORD_HASH is None:
            _DUMMY_PASSWORD_HASH = make_password("not-a-real-password")
        check_password(password, _DUMMY_PASSWORD_HASH)
        raise Unauthorized("Wrong email or password.", code="invalid_credentials")
    if not user.check_password(password) or not user.is_active:
        raise Unauthorized("Wrong email or password.", code="invalid_credentials")
    with transaction.atomic():
        session = AuthSession.objects.create(user=user)
        User.objects.filter(pk=user.pk).update(last_login=timezone.now())
        return _issue(user, session)


def _decode_refresh(raw: str) -> dict:
    try:
        payload = token_backend.decode(raw, verify=True)
    except TokenBackendError:
        raise Unauthorized("Refresh token is invalid or expired.", code="token_invalid") from None
    if payload.get("token_type") != "refresh" or not payload.get("jti") or not payload.get("sid"):
        raise Unauthorized("Refresh token is invalid or expired.", code="token_invalid")
    return payload


def _blacklist(payload: dict, raw: str) -> None:
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
            user = User.objects.filter(id=payload.get("user_id"), is_active=True).first()
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
def user_deactivate(*, user: User, actor_id=None) -> None:
    """Deactivated users' tokens stop working at once (the auth cache is invalidated),
    and the pending invites they made, in every organization they belong to,
    are revoked (`invite.revoked`, reason `inviter_inactive`), all in this
    transaction. Invite and audit tables are not cached by cacheops, so
    switching schemas inside the transaction is safe here."""
    from django_tenants.utils import schema_context

    from shared_apps.orgs.models import Membership, OrgStatus
    from tenant_apps.invites.services import invites_revoke_for_inviter

    user.is_active = False
    user.save(update_fields=["is_active"])
    for session in AuthSession.objects.select_for_update().filter(user=user, revoked_at__isnull=True):
        session_revoke(session=session, reason="deactivated")
    schemas = (
        Membership.objects.filter(user=user, organization__status__in=[OrgStatus.ACTIVE, OrgStatus.SUSPENDED])
        .order_by("organization_id")
        .values_list("organization__schema_name", flat=True)
    )
    for schema_name in list(schemas):
        with schema_context(schema_name):
            invites_revoke_for_inviter(
                inviter_id=user.id, inviter_role=None, actor_id=actor_id, reason="inviter_inactive"
            )
