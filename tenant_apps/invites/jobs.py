"""Background work of invites; runs in the organization's schema (platform_core.jobs.TenantJob)."""

import hmac
import logging
from urllib.parse import quote

from django.conf import settings
from django.db import connection, transaction

from platform_core.emails import org_base_url, person_name, quoted, send_templated_email
from shared_apps.accounts.selectors import user_name
from shared_apps.orgs.selectors import org_for_schema
from tenant_apps.invites.models import Invite, InviteState
from tenant_apps.invites.services import invite_mark_email_sent, token_hash

log = logging.getLogger("tenant_apps.invites")


def accept_url(org, token: str) -> str:
    """The invite link (settings.INVITE_URL_TEMPLATE: a front-end page that
    calls POST /api/v1/invites/accept with the token)."""
    return settings.INVITE_URL_TEMPLATE.format(
        org_url=org_base_url(org), slug=org.slug, token=quote(token, safe="")
    )


def send_invite_email(*, invite_id: str, token: str) -> str:
    """Email the invite link. Idempotent: skips invites that are no longer
    pending or were already emailed. The invite row stays locked while the
    mail server answers, so two runs of this job never both send. A refusing
    mail server raises, and RQ retries the job (platform_core.jobs.retry_policy)."""
    with transaction.atomic():
        invite = Invite.objects.select_for_update().filter(id=invite_id).first()
        if invite is None:
            return "skipped: no such invite"
        if invite.status != InviteState.PENDING:
            return f"skipped: {invite.status}"
        if invite.email_sent_at is not None:
            return "skipped: already sent"
        if not hmac.compare_digest(token_hash(token), invite.token_hash):
            raise ValueError(f"token does not belong to invite {invite.id}")
        org = org_for_schema(schema_name=connection.schema_name)  # type: ignore[attr-defined]
        inviter = user_name(user_id=invite.invited_by)
        send_templated_email(
            to=invite.email,
            template="invites/invite_email",
            context={
                # Names are quoted and bounded, never trusted (platform_core.emails).
                "org_name": quoted(org.name),
                "inviter_name": person_name(inviter),
                "role": invite.role,
                "email": invite.email,
                "accept_url": accept_url(org, token),
                "expires_at": invite.expires_at,
            },
        )
        invite_mark_email_sent(invite=invite)
    log.info("invite %s emailed", invite.id)
    return "sent"
