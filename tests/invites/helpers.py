import hashlib

from tests.support import access_token_for


def invite(api, org, actor, email: str, role: str = "member"):
    return api(org, actor).post("/invites", {"email": email, "role": role})


def token_of(invite_id) -> str:
    """The token on its way to the mail server (the outbox row's kwargs: nowhere else)."""
    from platform_core.models import OutboxJob

    row = OutboxJob.objects.get(func="tenant_apps.invites.jobs.send_invite_email", kwargs__invite_id=str(invite_id))
    return row.kwargs["token"]


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def signed_in(user) -> str:
    """An access token for `user` with a fresh session."""
    from shared_apps.accounts.models import AuthSession

    return access_token_for(user, AuthSession.objects.create(user=user).id)
