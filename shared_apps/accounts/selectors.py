"""Reads of users for other apps (they never query the User model themselves)."""

from shared_apps.accounts.models import User


def user_name(*, user_id) -> str | None:
    """A user's display name, or None if the user is gone."""
    return User.objects.filter(id=user_id).values_list("name", flat=True).first()
