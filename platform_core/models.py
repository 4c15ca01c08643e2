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
