"""A member's tokens go when the member goes: removal or leaving revokes them
(shared_apps.orgs.changes.membership_changed, in the change's transaction and
the organization's schema). Deactivated users need nothing here: their
tokens fail authentication because the user is gone from the request path."""

from django.db import connection
from django.dispatch import receiver

from shared_apps.orgs.changes import membership_changed
from tenant_apps.tokens.services import tokens_revoke_for_user


@receiver(membership_changed, dispatch_uid="tenant_apps.tokens.membership_changed")
def _membership_changed(sender, *, membership, role, actor_id, reason: str, **kwargs) -> None:
    if role is None and connection.schema_name != "public":  # type: ignore[attr-defined]  # django-tenants
        tokens_revoke_for_user(org_id=membership.organization_id, user_id=membership.user_id)
