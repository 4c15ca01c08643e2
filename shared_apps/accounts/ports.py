"""This app's side of `platform_core.ports`: who a user and a session are.

Registered in `AccountsConfig.ready()`, so `platform_core.auth` needs no
import of this app."""

from shared_apps.accounts.models import AuthSession, User


def load_user(user_id: str) -> dict | None:
    row = User.objects.filter(id=user_id, is_active=True).values("id", "email", "name", "is_staff").first()
    return {**row, "id": str(row["id"])} if row else None


def session_owner(session_id: str) -> str:
    owner = AuthSession.objects.filter(id=session_id, revoked_at__isnull=True).values_list("user_id", flat=True).first()
    return str(owner) if owner else "revoked"
