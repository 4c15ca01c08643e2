"""Reads of users for other apps (they never query the User model themselves)."""

from uuid import UUID

from shared_apps.accounts.models import User


def user_name(*, user_id: UUID | str | None) -> str | None:
    """A user's display name, or None if the user is gone (or there is none)."""
    if user_id is None:
        return None
    return User.objects.filter(id=user_id).values_list("name", flat=True).first()
