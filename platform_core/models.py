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
