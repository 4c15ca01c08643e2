"""Invitations to join this organization (a table in the organization's schema).

The token is never stored: only its SHA-256 (`token_hash`). It travels once,
in the invite email (through the outbox, whose copy is erased when the job
is done). Users are referenced by plain UUIDs (they live in the public schema).
"""

import uuid

from django.db import models
from django.utils import timezone


class InviteState(models.TextChoices):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REVOKED = "revoked"


class Invite(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(max_length=254)  # lower-cased
    role = models.CharField(max_length=16)
    token_hash = models.CharField(max_length=64, unique=True)
    state = models.CharField(max_length=16, choices=InviteState.choices, default=InviteState.PENDING)
    invited_by = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    email_sent_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.UUIDField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.UUIDField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=16, blank=True)  # "revoked" | "replaced"

    class Meta:
        constraints = [
            # Re-inviting an email replaces its pending invite: at most one pending per email.
            models.UniqueConstraint(
                fields=["email"], condition=models.Q(state="pending"), name="invite_one_pending_per_email"
            )
        ]
        indexes = [models.Index(fields=["-created_at", "-id"], name="invite_created_idx")]

    def __str__(self) -> str:
        return f"{self.email} ({self.role})"

    @property
    def status(self) -> str:
        """pending | accepted | revoked | expired (a pending invite past its expiry)."""
        if self.state == InviteState.PENDING and self.expires_at <= timezone.now():
            return "expired"
        return self.state
