"""Invitations: create, revoke, accept. Each writes its audit event in the same
transaction; the invite email is deferred through the outbox (platform_core.jobs)."""

import hashlib
import math
import secrets
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from platform_core.auth import Actor, AuthUser
from platform_core.errors import Conflict, Forbidden, Gone, NotFound, RateLimited
from platform_core.jobs import defer
from platform_core.permissions import Action, authorize, may_invite
from platform_core.throttle import check_rate
from shared_apps.accounts.models import User, normalize_email
from shared_apps.orgs.models import Membership, Organization
from shared_apps.orgs.services import lock_org_memberships, member_add, member_role_locked
from tenant_apps.audit.services import audit_record, diff
from tenant_apps.invites.models import Invite, InviteState

TOKEN_BYTES = 32  # secrets.token_urlsafe(32): 256 bits, 43 characters
SEND_EMAIL_JOB = "tenant_apps.invites.jobs.send_invite_email"
# Class id of the per-address invite lock: pg_advisory_xact_lock(int, int).
INVITE_ADDRESS_LOCK_CLASS = 740_127


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_invite_role(actor: Actor, role: str) -> None:
    """Same rule as role changes (platform_core.permissions.may_invite):
    managers invite; only an owner may make (invite) an owner.

    Inside the caller's transaction the actor's role is read again under the
    organization's membership lock (shared_apps.orgs.services), so an invite
    cannot be created by someone being demoted or removed at that moment
    (their removal revokes their pending invites; this one would escape it).
    """
    authorize(actor, Action.INVITE_CREATE)
    if not may_invite(actor.role, role):
        raise Forbidden("Only an owner may make someone an owner.")
    if connection.in_atomic_block:
        if not may_invite(member_role_locked(org_id=actor.org_id, user_id=actor.user_id), role):
            raise Conflict("Your role changed meanwhile; nothing was done.", code="membership_changed")


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))


def _duration(seconds: int) -> str:
    return f"{seconds // 3600} hours" if seconds % 3600 == 0 else f"{seconds} seconds"


def check_invite_limits(*, org_id: UUID | str, email: str) -> None:
    """Quotas on sending invites (429 with Retry-After), inside invite_create's transaction.

    Per address and organization, from this schema's invites table (so they
    hold with Redis down), under a lock on (schema, address) held until
    commit: no new invite within INVITE_RESEND_COOLDOWN seconds of the last
    one, and at most INVITE_EMAILS_PER_ADDRESS invites (one email each) per
    INVITE_EMAILS_WINDOW seconds, revoked and replaced ones included. Per
    organization: at most INVITE_RATE_PER_ORG invites per INVITE_RATE_WINDOW
    seconds (a Redis counter; not enforced while Redis is down). A limit or
    cooldown of 0 turns that rule off.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
            [INVITE_ADDRESS_LOCK_CLASS, f"{connection.schema_name}:{email}"],  # type: ignore[attr-defined]  # django-tenants
        )
    now = timezone.now()  # after the lock: a concurrent invite to this address is visible now
    limit, window = settings.INVITE_EMAILS_PER_ADDRESS, settings.INVITE_EMAILS_WINDOW
    recent = list(
        Invite.objects.filter(email=email, created_at__gt=now - timedelta(seconds=window))
        .order_by("-created_at")
        .values_list("created_at", flat=True)[: max(limit, 1)]
    )
    cooldown = settings.INVITE_RESEND_COOLDOWN
    if recent and cooldown > 0 and recent[0] + timedelta(seconds=cooldown) > now:
        raise RateLimited(
            _seconds_until(recent[0] + timedelta(seconds=cooldown), now),
            f"This address was invited less than {cooldown} seconds ago; try again later.",
        )
    if limit > 0 and len(recent) >= limit:
        raise RateLimited(
            _seconds_until(recent[limit - 1] + timedelta(seconds=window), now),
            f"At most {limit} invites to one address per {_duration(window)}; try again later.",
        )
    check_rate(f"invites:org:{org_id}", limit=settings.INVITE_RATE_PER_ORG, window=settings.INVITE_RATE_WINDOW)


@transaction.atomic
def invite_create(*, actor: Actor, org_id: UUID | str, email: str, role: str) -> Invite:
    """A new pending invite; a pending invite for the same email is replaced (revoked).
    Rate-limited per address and per organization (check_invite_limits)."""
    check_invite_role(actor, role)
    email = normalize_email(email)
    if Membership.objects.filter(organization_id=org_id, user__email__iexact=email).exists():
        raise Conflict("This person is already a member.", code="already_member")

    check_invite_limits(org_id=org_id, email=email)
    now = timezone.now()
    replaced = list(
        Invite.objects.select_for_update().filter(email=email, state=InviteState.PENDING).values_list("id", flat=True)
    )
    if replaced:
        Invite.objects.filter(id__in=replaced).update(
            state=InviteState.REVOKED, revoked_at=now, revoked_by=actor.user_id, revoke_reason="replaced"
        )
    token = secrets.token_urlsafe(TOKEN_BYTES)
    try:
        with transaction.atomic():
            invite = Invite.objects.create(
                email=email,
                role=role,
                token_hash=token_hash(token),
                invited_by=actor.user_id,
                created_at=now,
                expires_at=now + timedelta(days=settings.INVITE_TTL_DAYS),
            )
    except IntegrityError:  # a concurrent invite for the same email won the race
        raise Conflict("Another invite for this email was just created.", code="invite_conflict") from None

    changes = diff({}, {"email": email, "role": role, "status": "pending", "expires_at": invite.expires_at})
    if replaced:
        changes["replaced_invite_ids"] = [str(i) for i in replaced]
    audit_record(
        actor=actor.user_id, action="invite.created", target=invite, changes=changes
    )
    defer(SEND_EMAIL_JOB, queue="emails", invite_id=str(invite.id), token=token)
    return invite


@transaction.atomic
def invite_revoke(*, actor: Actor, invite: Invite) -> Invite:
    """Revoke a pending (or expired) invite. Revoking a revoked invite changes
    nothing (no event); an accepted invite cannot be revoked (409)."""
    authorize(actor, Action.INVITE_REVOKE, invite)
    invite = Invite.objects.select_for_update().get(id=invite.id)
    if invite.state == InviteState.REVOKED:
        return invite
    if invite.state == InviteState.ACCEPTED:
        raise Conflict("This invite was accepted; remove the member instead.", code="invite_accepted")
    before = invite.status
    invite.state = InviteState.REVOKED
    invite.revoked_at = timezone.now()
    invite.revoked_by = actor.user_id
    invite.revoke_reason = "revoked"
    invite.save(update_fields=["state", "revoked_at", "revoked_by", "revoke_reason"])
    audit_record(
        actor=actor.user_id, action="invite.revoked", target=invite,
        changes={**diff({"status": before}, {"status": "revoked"}), "email": invite.email},
    )
    return invite


def inviter_may_still_invite(invite: Invite, *, org_id: UUID | str) -> bool:
    """Does the invite's inviter still hold the right to make it (an active user,
    a member whose current role may invite that role)? Invites without a
    recorded inviter are not judged by it."""
    if invite.invited_by is None:
        return True
    if not User.objects.filter(id=invite.invited_by, is_active=True).exists():
        return False
    role = (
        Membership.objects.filter(organization_id=org_id, user_id=invite.invited_by)
        .values_list("role", flat=True)
        .first()
    )
    return may_invite(role, invite.role)


@transaction.atomic
def invite_accept(*, user: AuthUser, org: Organization, token: str) -> Membership:
    """The signed-in `user` joins `org` with the invite's role.

    Order of checks: unknown token 404; used, revoked or expired 410; another
    email 403; inviter no longer allowed to make this invite 410 (their pending
    invites are revoked when that happens; this re-check covers the races);
    already a member 409 (the invite stays pending).
    Locks: the organization's membership lock first, then the invite (the order
    every membership change uses). The membership comes from the one membership
    writer (`member_add`); one event, `invite.accepted`, records it with its role.
    """
    digest = token_hash(token)
    if not Invite.objects.filter(token_hash=digest).exists():  # bad tokens take no lock
        raise NotFound("No such invite.", code="invite_not_found")
    lock_org_memberships(org.id)
    invite = Invite.objects.select_for_update().filter(token_hash=digest).first()
    if invite is None:
        raise NotFound("No such invite.", code="invite_not_found")
    status = invite.status
    if status != InviteState.PENDING:
        raise Gone(f"This invite is {'used' if status == 'accepted' else status}.", code=f"invite_{status}")
    if normalize_email(user.email) != invite.email:
        raise Forbidden("This invite is for another email address.", code="invite_email_mismatch")
    if not inviter_may_still_invite(invite, org_id=org.id):
        raise Gone("This invite was revoked: its inviter can no longer make it.", code="invite_revoked")
    try:
        with transaction.atomic():
            # invite.accepted below records this membership (with its role): one event.
            membership = member_add(
                org_id=org.id, user_id=user.id, role=invite.role, actor_id=user.id, via="invite",
                recorded_by_caller=True,
            )
    except IntegrityError:  # joined concurrently
        raise Conflict("You are already a member of this organization.", code="already_member") from None
    except Conflict:
        raise Conflict("You are already a member of this organization.", code="already_member") from None

    invite.state = InviteState.ACCEPTED
    invite.accepted_at = membership.joined_at
    invite.accepted_by = user.id
    invite.save(update_fields=["state", "accepted_at", "accepted_by"])
    audit_record(
        actor=user.id, action="invite.accepted", target=invite,
        # {field: {"from", "to"}} like every event: the invite's status, and the
        # membership it made (who, with which role; `role` as in member.added).
        changes=diff(
            {"status": "pending", "user_id": None, "role": None},
            {"status": "accepted", "user_id": str(user.id), "role": invite.role},
        ),
    )
    return membership


def invites_revoke_for_inviter(
    *, inviter_id: UUID | str, inviter_role: str | None, actor_id: UUID | str | None, reason: str
) -> list[Invite]:
    """Revoke the live pending invites made by `inviter_id` that `inviter_role`
    (None: no longer a member, or deactivated) may not make, each with its
    `invite.revoked` event carrying `reason` (inviter_removed, inviter_left,
    inviter_demoted, inviter_inactive).

    Runs in the current schema inside the caller's transaction (the membership
    change or the deactivation), after the membership lock.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("invites_revoke_for_inviter must run inside the caller's transaction")
    now = timezone.now()
    pending = Invite.objects.select_for_update().filter(
        invited_by=inviter_id, state=InviteState.PENDING, expires_at__gt=now
    ).order_by("id")
    revoked = []
    for invite in pending:
        if inviter_role is not None and may_invite(inviter_role, invite.role):
            continue
        invite.state = InviteState.REVOKED
        invite.revoked_at = now
        invite.revoked_by = actor_id
        invite.revoke_reason = reason
        invite.save(update_fields=["state", "revoked_at", "revoked_by", "revoke_reason"])
        audit_record(
            actor=actor_id, action="invite.revoked", target=invite,
            changes={
                **diff({"status": "pending"}, {"status": "revoked"}),
                "email": invite.email, "reason": reason, "inviter_id": str(inviter_id),
            },
        )
        revoked.append(invite)
    return revoked


def invite_mark_email_sent(*, invite: Invite) -> None:
    invite.email_sent_at = timezone.now()
    invite.save(update_fields=["email_sent_at"])

