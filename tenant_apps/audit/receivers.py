"""The organization's audit events for changes made in shared_apps
(org renames, membership changes): shared_apps.orgs.changes.org_event,
recorded in the current (the organization's) schema, in the sender's transaction."""

from django.dispatch import receiver

from shared_apps.orgs.changes import org_event
from tenant_apps.audit.models import AuditEvent
from tenant_apps.audit.services import audit_record


@receiver(org_event, dispatch_uid="tenant_apps.audit.record_org_event")
def record_org_event(
    sender, *, actor_id, action: str, target, changes: dict, **kwargs
) -> AuditEvent:
    return audit_record(actor=actor_id, action=action, target=target, changes=changes)
