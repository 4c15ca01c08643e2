"""What shared_apps tells the layers above about organization changes.

Signals, so that shared_apps imports no tenant app: the tenant apps connect
their receivers in their AppConfig.ready. Both are sent inside the change's
transaction with the organization's schema active, and Django signals run
their receivers synchronously: what a receiver writes commits or rolls back
with the change.

- `org_event(sender, actor_id, action, target, changes)`: a change to record
  in the organization's audit log (`target` is the Organization or the
  Membership); the tenant audit app writes exactly one event for it
  (`record_org_event` refuses to send it if nothing records it).
- `membership_changed(sender, membership, role, actor_id, reason)`: after a
  role change (`role` the new role) or a removal (`role` None): the invites
  app revokes the pending invites the member may no longer make.
"""

from django.dispatch import Signal

org_event = Signal()
membership_changed = Signal()


def record_org_event(*, actor_id, action: str, target, changes: dict) -> None:
    """Send `org_event`; exactly one receiver must record it (the tenant audit app)."""
    recorded = [
        r
        for _, r in org_event.send(
            sender=type(target), actor_id=actor_id, action=action, target=target, changes=changes
        )
        if r is not None
    ]
    if len(recorded) != 1:
        raise RuntimeError(f"{action}: expected one audit receiver, {len(recorded)} recorded it")
