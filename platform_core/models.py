import uuid

from django.db import models
from django.utils import timezone


class OutboxJob(models.Model):
    """Deferred work recorded in PostgreSQL in the same transaction as the change
    that asks for it, then pushed to RQ after commit. If Redis is down at commit,
    the row stays pending and the sweeper enqueues it once Redis is back: no job
    is lost. Lives in the public schema and names the schema it must run in."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    schema_name = models.CharField(max_length=63)
    func = models.CharField(max_length=200)
    kwargs = models.JSONField(default=dict)
    queue = models.CharField(max_length=32, default="default")
    created_at = models.DateTimeField(default=timezone.now)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(
                fields=["created_at"], name="outbox_pending_idx", condition=models.Q(done_at__isnull=True)
            )
        ]

    def __str__(self) -> str:
        return f"{self.func} in {self.schema_name}"


class SummarySent(models.Model):
    """One daily summary sent to one member of one organization (public schema).

    The unique row is claimed in the transaction that sends the email, so a
    second run of the same day (or a concurrent one) sends nothing; its
    `sent_at` marks where the next summary's "newly assigned" starts.
    """

    id = models.BigAutoField(primary_key=True)
    user_id = models.UUIDField()
    organization_id = models.UUIDField()
    day = models.DateField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user_id", "organization_id", "day"], name="summary_sent_unique")
        ]
        indexes = [models.Index(fields=["organization_id", "user_id", "-day"], name="summary_sent_last_idx")]

    def __str__(self) -> str:
        return f"summary {self.day} for {self.user_id} in {self.organization_id}"


class IdempotencyKey(models.Model):
    """A POST's `Idempotency-Key` and its first response (platform_core.idempotency).

    Public schema, one row per (organization, caller, key): `scope` is the
    organization's id, `caller` the user (`u:<id>`) or API token (`t:<digest>`).
    The row is inserted in the same transaction as the POST's write and
    holds its response once it committed; a concurrent duplicate waits on the
    unique index and then replays it. Rows older than 24 hours are deleted by
    `idempotency_sweep` (platform_core/cron.py)."""

    id = models.BigAutoField(primary_key=True)
    scope = models.CharField(max_length=64)
    caller = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    content_type = models.CharField(max_length=100, blank=True)
    body = models.BinaryField(null=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "caller", "key"], name="idempotency_key_unique")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return f"{self.key} of {self.caller} in {self.scope}"
