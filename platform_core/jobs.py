"""Tenant-aware background jobs on RQ.

- `TenantQueue` records the schema of the enqueuing code in the job's meta
  (`schema_name`), `TenantJob` runs the job inside that schema. A job without
  a schema refuses to run, so nothing runs in `public` by accident; platform
  jobs say `public` explicitly.
- `defer()` is how services ask for work after commit: it writes an
  `OutboxJob` row in the same transaction, and pushes it to RQ on commit. If
  Redis is down, `sweep_outbox` (scheduled) enqueues it later. Jobs run at
  least once, so job functions are idempotent; `run_outbox_job` skips rows
  already done.
"""

import logging
from datetime import timedelta

from django.db import close_old_connections, connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_rq.queues import DjangoRQ
from django_tenants.utils import schema_context
from rq import Retry
from rq.job import Job

log = logging.getLogger("platform_core.jobs")

SCHEMA_META = "schema_name"
DEFAULT_RETRY = Retry(max=5, interval=[10, 30, 120, 600, 1800])


class TenantQueue(DjangoRQ):
    def create_job(self, *args, **kwargs):
        meta = dict(kwargs.get("meta") or {})
        meta.setdefault(SCHEMA_META, connection.schema_name)
        kwargs["meta"] = meta
        return super().create_job(*args, **kwargs)


class MissingTenant(RuntimeError):
    pass


class TenantJob(Job):
    def _execute(self):
        schema = (self.meta or {}).get(SCHEMA_META)
        if not schema:
            raise MissingTenant(f"job {self.id} carries no schema_name; refusing to run")
        close_old_connections()
        with schema_context(schema):
            return super()._execute()


def get_queue(name: str = "default") -> TenantQueue:
    import django_rq

    return django_rq.get_queue(name, queue_class=TenantQueue, job_class=TenantJob)


# --- the outbox -----------------------------------------------------------------


def defer(func: str, *, queue: str = "default", **kwargs) -> None:
    """Run `func(**kwargs)` in the current schema after this transaction commits.

    `func` is a dotted path; kwargs must be JSON-serialisable.
    """
    from platform_core.models import OutboxJob

    with transaction.atomic():
        row = OutboxJob.objects.create(
            schema_name=connection.schema_name, func=func, kwargs=kwargs, queue=queue
        )
    transaction.on_commit(lambda: push(row.id))


def push(outbox_id, *, schema_name: str | None = None) -> bool:
    """Enqueue one outbox row on RQ; False (and the row stays pending) if Redis is down."""
    from platform_core.models import OutboxJob

    row = OutboxJob.objects.filter(id=outbox_id, done_at__isnull=True).first()
    if row is None:
        return False
    try:
        get_queue(row.queue).enqueue_call(
            "platform_core.jobs.run_outbox_job",
            kwargs={"outbox_id": str(row.id)},
            job_id=f"outbox-{row.id}",
            meta={SCHEMA_META: row.schema_name},
            retry=DEFAULT_RETRY,
            failure_ttl=30 * 24 * 3600,
        )
    except Exception as exc:  # redis unavailable: the sweeper will retry
        log.warning("outbox %s not enqueued yet (%s)", row.id, exc.__class__.__name__)
        return False
    OutboxJob.objects.filter(id=row.id).update(enqueued_at=timezone.now())
    return True


def run_outbox_job(outbox_id: str):
    """Worker side: run the recorded function once (inside the job's schema)."""
    from platform_core.models import OutboxJob

    row = OutboxJob.objects.filter(id=outbox_id).first()
    if row is None or row.done_at is not None:
        return "skipped"
    if row.schema_name != connection.schema_name:
        raise MissingTenant(f"outbox {row.id} is for {row.schema_name}, running in {connection.schema_name}")
    OutboxJob.objects.filter(id=row.id).update(attempts=row.attempts + 1)
    result = import_string(row.func)(**row.kwargs)
    # kwargs may hold secrets (an invite token on its way to the mail server)
    OutboxJob.objects.filter(id=row.id).update(done_at=timezone.now(), kwargs={})
    return result


def sweep_outbox(*, stale_after_seconds: int = 5, lost_after_seconds: int = 3600) -> int:
    """Scheduled: enqueue outbox rows that never reached Redis, or whose RQ job was lost."""
    from platform_core.models import OutboxJob

    now = timezone.now()
    pending = OutboxJob.objects.filter(
        done_at__isnull=True, enqueued_at__isnull=True, created_at__lt=now - timedelta(seconds=stale_after_seconds)
    ).values_list("id", flat=True)[:1000]
    count = sum(push(outbox_id) for outbox_id in pending)
    queue = get_queue()
    for row in OutboxJob.objects.filter(
        done_at__isnull=True, enqueued_at__lt=now - timedelta(seconds=lost_after_seconds)
    )[:1000]:
        if Job.fetch_many([f"outbox-{row.id}"], connection=queue.connection)[0] is None:
            OutboxJob.objects.filter(id=row.id).update(enqueued_at=None)
            count += push(row.id)
    return count
