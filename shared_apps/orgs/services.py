"""Writes to an organization and its memberships: the one writer of memberships.

Every membership change (add, change role, remove or leave) goes through the
locked core below, whoever asks: organization hosts (the API), invite
acceptance, operators (the API and the Django admin), organization
provisioning (the owner) and import (`members_import`). Nothing else writes
Membership rows (tests/test_one_writer.py checks it). Each change, in one
transaction:

1. locks the organization row (`FOR NO KEY UPDATE`: it serializes the
   membership changes of one organization without blocking foreign-key
   inserts), then the membership rows concerned (the actor's and the
   target's) in id order; every path takes the locks in this order
   (organization, memberships, then the organization's invites), so
   concurrent changes wait for each other instead of deadlocking;
2. re-reads the target (gone: 404) and the actor's role from the locked rows
   and checks the rules again on them (platform_core.permissions
   check_member_change, the last-owner rule): a rule that held before the
   lock but no longer does is a 409 `membership_changed` (or `last_owner`);
3. writes the change and exactly one audit event in the organization's
   schema, and revokes the pending invites the member may no longer make:
   through the signals of shared_apps.orgs.changes (`org_event`, recorded by
   the tenant audit app; `membership_changed`, received by the invites app),
   whose receivers run inside this transaction.
"""

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import transaction
from django_tenants.utils import schema_context

from platform_core.auth import Actor
from platform_core.errors import Conflict, Forbidden, InvalidInput, NotFound
from platform_core.permissions import check_member_change, leaves_no_owner
from shared_apps.orgs.changes import membership_changed, record_org_event
from shared_apps.orgs.models import Membership, Organization, Role


@transaction.atomic
def org_update(*, actor: Actor, org_id: UUID | str, name: str) -> Organization:
    org: Organization = Organization.objects.select_for_update().get(id=org_id)
    before = org.name
    org.name = name
    org.save(update_fields=["name"])
    changes = {"name": {"from": before, "to": name}} if before != name else {}
    record_org_event(actor_id=actor.user_id, action="org.updated", target=org, changes=changes)
    return org


# --- the locked core -------------------------------------------------------------------


def _changed(detail: str = "The membership changed meanwhile; nothing was done.") -> Conflict:
    return Conflict(detail, code="membership_changed")


def lock_org_memberships(org_id: UUID | str) -> None:
    """First lock of every membership change of organization `org_id` (see the module doc)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("membership changes must run inside a transaction")
    if not list(
        Organization.objects.select_for_update(no_key=True)
        .filter(id=org_id)
        .values_list("id", flat=True)
    ):
        raise NotFound("No such organization.")


def _lock_members(org_id: UUID | str, user_ids: list[UUID]) -> dict[UUID, Membership]:
    """The memberships of `user_ids` in `org_id`, locked in id order: {user_id: Membership}."""
    rows = (
        Membership.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(organization_id=org_id, user_id__in=set(user_ids))
        .order_by("id")
    )
    return {m.user_id: m for m in rows}


def member_role_locked(*, org_id: UUID | str, user_id: UUID) -> str | None:
    """`user_id`'s role in `org_id` read under the membership lock (None: not a member).

    For writes that only some roles may make (creating an invite): the role
    cannot change until the caller's transaction ends.
    """
    lock_org_memberships(org_id)
    row = _lock_members(org_id, [user_id]).get(user_id)
    return row.role if row else None


def _locked_actor(actor: Actor, rows: dict[UUID, Membership]) -> Actor:
    """The actor with the role of their locked membership row."""
    row = rows.get(actor.user_id)
    if row is None:
        raise _changed("You are no longer a member of this organization; nothing was done.")
    return actor if row.role == actor.role else replace(actor, role=row.role)


def _recheck(actor: Actor, target: Membership, new_role: str | None = None) -> None:
    """check_member_change on the locked rows: a refusal now means it changed underneath."""
    try:
        check_member_change(actor, target, new_role=new_role)
    except Forbidden:
        raise _changed("The roles changed meanwhile; this change is no longer allowed.") from None


def ensure_owner_remains(membership: Membership, *, verb: str) -> None:
    """409 `last_owner` if `membership` is its organization's only owner.

    Called under the organization's membership lock, so two concurrent
    demotions or removals cannot both pass.
    """
    if membership.role != Role.OWNER:
        return
    owners = Membership.objects.filter(
        organization_id=membership.organization_id, role=Role.OWNER
    ).count()
    if leaves_no_owner(role=membership.role, new_role=None, owners=owners):
        raise Conflict(f"The last owner cannot be {verb}.", code="last_owner")


def _revoke_invites_of(target: Membership, *, role: str | None, actor_id: UUID | str | None, reason: str) -> None:
    """The pending invites `target` may no longer make are revoked (the invites app's receiver)."""
    membership_changed.send(
        sender=Membership, membership=target, role=role, actor_id=actor_id, reason=reason
    )


def _set_role(target: Membership, role: str, *, actor_id: UUID | str | None, via: str | None = None) -> Membership:
    """Locked, checked: write the role, its event, and revoke invites the new role may not make."""
    if target.role == role:
        return target
    ensure_owner_remains(target, verb="demoted")
    before = target.role
    target.role = role
    target.save(update_fields=["role"])
    changes: dict[str, Any] = {"role": {"from": before, "to": role}}
    if via:
        changes["via"] = via
    record_org_event(actor_id=actor_id, action="member.role_changed", target=target, changes=changes)
    _revoke_invites_of(target, role=role, actor_id=actor_id, reason="inviter_demoted")
    return target


def _remove(target: Membership, *, actor_id: UUID | str | None, via: str | None = None) -> None:
    """Locked, checked: delete the membership, its event, and revoke the member's pending invites."""
    ensure_owner_remains(target, verb="removed")
    left = actor_id == target.user_id
    target.delete()
    changes = {"role": {"from": target.role, "to": None}, "left": left}
    if via:
        changes["via"] = via
    record_org_event(actor_id=actor_id, action="member.removed", target=target, changes=changes)
    _revoke_invites_of(
        target, role=None, actor_id=actor_id, reason="inviter_left" if left else "inviter_removed"
    )


# --- organization hosts (the request's schema is the organization's) --------------------


@transaction.atomic
def member_change_role(*, actor: Actor, membership: Membership, role: str) -> Membership:
    check_member_change(actor, membership, new_role=role)  # 403 on what the request saw
    lock_org_memberships(actor.org_id)
    rows = _lock_members(actor.org_id, [actor.user_id, membership.user_id])
    target = rows.get(membership.user_id)
    if target is None:
        raise NotFound("No such member.")
    _recheck(_locked_actor(actor, rows), target, new_role=role)
    return _set_role(target, role, actor_id=actor.user_id)


@transaction.atomic
def member_remove(*, actor: Actor, membership: Membership) -> None:
    check_member_change(actor, membership)
    lock_org_memberships(actor.org_id)
    rows = _lock_members(actor.org_id, [actor.user_id, membership.user_id])
    target = rows.get(membership.user_id)
    if target is None:
        raise NotFound("No such member.")
    _recheck(_locked_actor(actor, rows), target)
    _remove(target, actor_id=actor.user_id)


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise InvalidInput("Unknown role.", loc=["role"])


def member_add(
    *, org_id: Any, user_id: Any, role: str, actor_id: Any, via: str, recorded_by_caller: bool = False
) -> Membership:
    """A new membership and its `member.added` event; 409 `already_member`.

    Every path that adds a member calls this (invite acceptance, operators,
    organization provisioning): under the organization's membership lock,
    inside the caller's transaction, with the organization's schema active
    (the event goes to its audit log through `org_event`). `via` says which
    path added it (invite, api, admin, provision).

    `recorded_by_caller=True`: the caller's own event records this membership
    in the same transaction (invite acceptance: `invite.accepted`, with the
    role; the contract has one audit event per organization-host mutation).
    """
    _check_role(role)
    lock_org_memberships(org_id)
    if Membership.objects.filter(organization_id=org_id, user_id=user_id).exists():
        raise Conflict("Already a member of this organization.", code="already_member")
    membership = Membership.objects.create(organization_id=org_id, user_id=user_id, role=role)
    if recorded_by_caller:
        return membership
    record_org_event(
        actor_id=actor_id,
        action="member.added",
        target=membership,
        changes={"role": {"from": None, "to": role}, "via": via},
    )
    return membership


def members_import(*, org_id: Any, rows: Iterable[tuple[Any, str, datetime | str]]) -> list[Membership]:
    """The memberships of an imported organization: (user_id, role, joined_at) rows.

    One lock, no event per member: the import records one summary event
    (`org.imported`, with the membership count) in the same transaction.
    The organization is new, so nobody can already be a member of it; a
    duplicate user in `rows` is a 409 `already_member`.
    """
    lock_org_memberships(org_id)
    created: list[Membership] = []
    seen: set[str] = set()
    for user_id, role, joined_at in rows:
        _check_role(role)
        if str(user_id) in seen:
            raise Conflict("A member appears twice in the archive.", code="already_member")
        seen.add(str(user_id))
        created.append(
            Membership.objects.create(
                organization_id=org_id, user_id=user_id, role=role, joined_at=joined_at
            )
        )
    return created


def members_drop_all(*, org_id: Any) -> list[Membership]:
    """Delete every membership of `org_id`, whose schema was dropped (no audit log
    left to write to: the caller records the platform event). Returns them."""
    lock_org_memberships(org_id)
    memberships = _lock_members_all(org_id)
    for membership in memberships:
        membership.delete()  # one by one: post_delete drops each member's cached access
    return memberships


def _lock_members_all(org_id: Any) -> list[Membership]:
    return list(
        Membership.objects.select_for_update(of=("self",)).filter(organization_id=org_id).order_by("id")
    )


# --- operators (API and admin; the connection is on the public schema) ------------------


def _org_of(membership: Membership) -> Organization:
    org: Organization = Organization.objects.get(id=membership.organization_id)
    return org


def member_add_as_operator(
    *, org: Organization, user_id: UUID | str, role: str, actor_id: UUID | str | None, via: str
) -> Membership:
    with schema_context(org.schema_name), transaction.atomic():
        return member_add(org_id=org.id, user_id=user_id, role=role, actor_id=actor_id, via=via)


def _locked_operator_target(org: Organization, membership: Membership) -> Membership:
    """The membership re-read under the organization's membership lock; 404 if it is gone."""
    lock_org_memberships(org.id)
    target = Membership.objects.select_for_update().filter(id=membership.id, organization_id=org.id).first()
    if target is None:
        raise NotFound("No such member.")
    return target


def member_set_role_as_operator(
    *, membership: Membership, role: str, actor_id: UUID | str | None, via: str
) -> tuple[Membership, str]:
    """Operators may set any role; the last-owner rule holds. 404 if the membership
    is gone. Returns the membership and its role before the change."""
    _check_role(role)
    org = _org_of(membership)
    with schema_context(org.schema_name), transaction.atomic():
        target = _locked_operator_target(org, membership)
        before = target.role
        return _set_role(target, role, actor_id=actor_id, via=via), before


def member_remove_as_operator(*, membership: Membership, actor_id: UUID | str | None, via: str) -> Membership:
    """Returns the removed membership as it was under the lock. 404 if already gone."""
    org = _org_of(membership)
    with schema_context(org.schema_name), transaction.atomic():
        target = _locked_operator_target(org, membership)
        _remove(target, actor_id=actor_id, via=via)
        return target


def member_change_allowed(*, membership: Membership, role: str | None) -> None:
    """Pre-check for forms (the admin): raises the service's Conflict if the
    change would break the last-owner rule now; the locked write checks again."""
    if role is None or (membership.role == Role.OWNER and role != Role.OWNER):
        ensure_owner_remains(membership, verb="removed" if role is None else "demoted")
