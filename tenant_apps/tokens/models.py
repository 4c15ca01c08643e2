import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone


class ApiToken(models.Model):
    """A member's credential for scripts and integrations, in this organization only.

    Lives in the organization's schema, so only this organization's host can
    find it. The secret is stored only as its sha256 (`token_hash`); `prefix`
    (the secret's first characters) identifies it in lists. Revoked tokens keep
    their row (audit events name them) with `revoked_at` set.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user_id = models.UUIDField()
    name = models.CharField(max_length=100)
    scopes = ArrayField(models.CharField(max_length=16))
    prefix = models.CharField(max_length=16)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user_id", "-created_at"], name="apitoken_user_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
