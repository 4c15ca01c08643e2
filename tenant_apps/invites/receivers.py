"""Invites follow their inviter: pending invites the inviter may no longer
make are revoked when their membership changes or their account is
deactivated (signals from shared_apps, in the sender's transaction)."""

from django.dispatch import receiver
from django_tenants.utils import schema_context

from shared_apps.accounts.changes import user_deactivated
from shared_apps.orgs.changes import membership_changed
from shared_apps.orgs.selectors import member_schemas_of
from tenant_apps.invites.services import invites_revoke_for_inviter


@receiver(membership_changed, dispatch_uid="tenant_apps.invites.membership_changed")
def _membership_changed(sender, *, membership, role, actor_id, reason: str, **kwargs) -> None:
    invites_revoke_for_inviter(
        inviter_id=membership.user_id, inviter_role=role, actor_id=actor_id, reason=reason
    )


@receiver(user_deactivated, dispatch_uid="tenant_apps.invites.user_deactivated")
def _user_deactivated(sender, *, user, actor_id, **kwargs) -> None:
    """Invite and audit tables are not cached by cacheops, so switching schemas
    inside the transaction is safe here."""
    for schema_name in member_schemas_of(user_id=user.id):
        with schema_context(schema_name):
            invites_revoke_for_inviter(
                inviter_id=user.id, inviter_role=None, actor_id=actor_id, reason="inviter_inactive"
            )
