import uuid

from django.db import models
from django.utils import timezone


class AuditEvent(models.Model):
    """One successful mutation in this organization. Append-only: a trigger
    (migration 0001) rejects UPDATE and DELETE on this table."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    at = models.DateTimeField(default=timezone.now)
    actor_id = models.UUIDField(null=True, blank=True)
    token_id = models.UUIDField(null=True, blank=True)  # the API token the actor used, if any
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=32)
    target_id = models.UUIDField(null=True, blank=True)
    board_id = models.UUIDField(null=True, blank=True)  # routes live board events
    changes = models.JSONField(default=dict)
    request_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["-at", "-id"], name="audit_at_idx"),
            models.Index(fields=["actor_id", "-at"], name="audit_actor_idx"),
            models.Index(fields=["action", "-at"], name="audit_action_idx"),
            models.Index(fields=["target_type", "target_id", "-at"], name="audit_target_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.target_type}:{self.target_id} at {self.at:%Y-%m-%dT%H:%M:%SZ}"
