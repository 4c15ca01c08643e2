"""Writes to an organization and its memberships (called from organization hosts)."""

from django.db import transaction

from platform_core.auth import Actor
from platform_core.errors import Conflict
from platform_core.permissions import check_member_change
from shared_apps.orgs.models import Membership, Organization, Role
from tenant_apps.audit.services import audit_record, diff


@transaction.atomic
def org_update(*, actor: Actor, org_id, name: str) -> Organization:
    org = Organization.objects.select_for_update().get(id=org_id)
    before = {"name": org.name}
    org.name = name
    org.save(update_fields=["name"])
    audit_record(
        actor_id=actor.user_id, action="org.updated", target_type="org", target_id=org.id,
        changes=diff(before, {"name": name}),
    )
    return org


def ensure_owner_remains(membership: Membership, *, verb: str) -> None:
    """409 `last_owner` if `membership` is its organization's only owner.

    Owners are counted with their rows locked, so two concurrent demotions or
    removals cannot both pass. Used by every path that demotes or removes a
    member (organization hosts, operator services, the admin).
    """
    if membership.role != Role.OWNER:
        return
    owners = Membership.objects.select_for_update().filter(organization_id=membership.organization_id, role=Role.OWNER)
    if len(list(owners)) <= 1:
        raise Conflict(f"The last owner cannot be {verb}.", code="last_owner")


@transaction.atomic
def member_change_role(*, actor: Actor, membership: Membership, role: str) -> Membership:
    check_member_change(actor, membership, new_role=role)
    if membership.role == role:
        return membership
    ensure_owner_remains(membership, verb="demoted")
    before = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        actor_id=actor.user_id, action="member.role_changed", target_type="member",
        target_id=membership.user_id, changes={"role": {"from": before, "to": role}},
    )
    return membership


@transaction.atomic
def member_remove(*, actor: Actor, membership: Membership) -> None:
    check_member_change(actor, membership)
    ensure_owner_remains(membership, verb="removed")
    user_id = membership.user_id
    membership.delete()
    audit_record(
        actor_id=actor.user_id, action="member.removed", target_type="member", target_id=user_id,
        changes={"role": {"from": membership.role, "to": None}, "left": actor.user_id == user_id},
    )
