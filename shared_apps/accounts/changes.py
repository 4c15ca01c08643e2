"""What shared_apps.accounts tells the layers above (signals; see shared_apps.orgs.changes).

- `user_deactivated(sender, user, actor_id)`: sent inside the deactivation's
  transaction (receivers run synchronously in it); the invites app revokes
  the user's pending invites in every organization they belong to.
"""

from django.dispatch import Signal

user_deactivated = Signal()
