"""Tenant-aware background jobs on RQ.

- `TenantQueue` records the schema of the enqueuing code in the job's meta
  (`schema_name`); `TenantJob` runs the job inside that schema. A job without
  a schema refuses to run, so nothing runs in `public` by accident.
- Platform jobs (sweeper, fan-outs, schema drops) say `public` explicitly:
  `meta={"schema_name": "public"}`. `TenantQueue` refuses to guess `public`
  from the current connection; the cron scheduler (platform_core/cron.py)
  enqueues through a plain RQ queue, so its entries always name their schema.
- The workers pick both classes up from settings (`RQ["JOB_CLASS"]`,
  `RQ["QUEUE_CLASS"]`), so `manage.py rqworker default emails --with-scheduler`
  needs no extra flags (tests/jobs checks it).
- `defer()` is how services ask for work after commit: it writes an
  `OutboxJob` row in the same transaction, and pushes it to RQ on commit. If
  Redis is down, `sweep_outbox` (scheduled) enqueues it later. Jobs run at
  least once, so job functions are idempotent; `run_outbox_job` skips rows
  already done.
- Failing outbox jobs are retried with backoff (`retry_policy()`, intervals
  from `settings.RQ_RETRY_INTERVALS`); retries with an interval need a worker
  started `--with-scheduler`. After the last retry the job lands in RQ's
  failed registry (kept 30 days) and its outbox row stays not done.
"""

import logging
from datetime import timedelta
from functools import partial
from typing import Any, cast
from uuid import UUID

import django_rq
from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_rq.queues import DjangoRQ
from django_tenants.utils import get_public_schema_name, schema_context
from rq import Retry
from rq.job import Job

from platform_core import ports
from platform_core.models import OutboxJob

log = logging.getLogger("platform_core.jobs")

SCHEMA_META = "schema_name"
RETRY_INTERVALS = [10, 30, 120, 600, 1800]  # seconds; settings.RQ_RETRY_INTERVALS overrides
DEFAULT_RETRY = Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS)
FAILURE_TTL = 30 * 24 * 3600


def retry_policy() -> Retry | None:
    """The retry/backoff of outbox jobs: one retry per interval (none if the list is empty)."""
    intervals = list(getattr(settings, "RQ_RETRY_INTERVALS", RETRY_INTERVALS))
    return Retry(max=len(intervals), interval=intervals) if intervals else None


class MissingTenant(RuntimeError):
    """A job that does not say which schema it belongs to (or names an unknown one)."""


class TenantQueue(DjangoRQ):
    def create_job(self, *args: Any, **kwargs: Any) -> Job:
        meta = dict(kwargs.get("meta") or {})
        if not meta.get(SCHEMA_META):
            schema = connection.schema_name  # type: ignore[attr-defined]  # django-tenants' connection
            if schema == get_public_schema_name():
                raise MissingTenant(
                    "enqueued from the public schema without meta={'schema_name': ...}: "
                    "platform jobs must say 'public' explicitly"
                )
            meta[SCHEMA_META] = schema
        kwargs["meta"] = meta
        return super().create_job(*args, **kwargs)


def _known_schema(schema: str) -> bool:
    if schema == get_public_schema_name():
        return True
    return bool(ports.schema_is_live(schema))  # registered by shared_apps.orgs


class TenantJob(Job):
    def _execute(self) -> Any:
        schema = (self.meta or {}).get(SCHEMA_META)
        if not schema:
            raise MissingTenant(f"job {self.id} carries no schema_name; refusing to run")
        if not connection.in_atomic_block:
            # Long-lived workers: drop a connection that died or outlived CONN_MAX_AGE.
            close_old_connections()
        if not _known_schema(schema):
            raise MissingTenant(f"job {self.id} names schema {schema!r}, which is not an organization's")
        with schema_context(schema):
            return super()._execute()


def get_queue(name: str = "default", *, commit_mode: str | None = None) -> TenantQueue:
    """A tenant-aware queue. Inside a transaction, `enqueue` waits for the commit
    (django-rq's on_db_commit) unless `commit_mode="auto"`."""
    queue = django_rq.get_queue(name, queue_class=TenantQueue, job_class=TenantJob, commit_mode=commit_mode)
    return cast(TenantQueue, queue)


# --- the outbox -----------------------------------------------------------------


def defer(func: str, *, queue: str = "default", **kwargs: Any) -> None:
    """Run `func(**kwargs)` in the current schema after this transaction commits.

    `func` is a dotted path; kwargs must be JSON-serialisable. Rolled back with
    the transaction: no change, no job.
    """
    with transaction.atomic():
        row = OutboxJob.objects.create(
            schema_name=connection.schema_name,  # type: ignore[attr-defined]
            func=func, kwargs=kwargs, queue=queue
        )
    # robust: a failing push (it should not) never turns a committed change into a 500
    transaction.on_commit(partial(push, row.id), robust=True)


def push(outbox_id: UUID | str) -> bool:
    """Enqueue one outbox row on RQ; False (and the row stays pending) if Redis is down."""
    row = OutboxJob.objects.filter(id=outbox_id, done_at__isnull=True).first()
    if row is None:
        return False
    try:
        # commit_mode="auto": we run after the commit already (on_commit or the
        # sweeper); waiting for yet another commit would lose errors and jobs.
        get_queue(row.queue, commit_mode="auto").enqueue_call(  # type: ignore[no-untyped-call]  # django-rq
            "platform_core.jobs.run_outbox_job",
            kwargs={"outbox_id": str(row.id)},
            job_id=f"outbox-{row.id}",
            meta={SCHEMA_META: row.schema_name},
            retry=retry_policy(),
            failure_ttl=FAILURE_TTL,
        )
    except Exception as exc:  # redis unavailable: the sweeper will retry
        log.warning("outbox %s not enqueued yet (%s)", row.id, exc.__class__.__name__)
        return False
    OutboxJob.objects.filter(id=row.id).update(enqueued_at=timezone.now())
    return True


def run_outbox_job(outbox_id: str) -> Any:
    """Worker side: run the recorded function once (inside the job's schema)."""
    row = OutboxJob.objects.filter(id=outbox_id).first()
    if row is None or row.done_at is not None:
        return "skipped"
    schema = connection.schema_name  # type: ignore[attr-defined]  # django-tenants' connection
    if row.schema_name != schema:
        raise MissingTenant(f"outbox {row.id} is for {row.schema_name}, running in {schema}")
    OutboxJob.objects.filter(id=row.id).update(attempts=row.attempts + 1)
    result = import_string(row.func)(**row.kwargs)
    # kwargs may hold secrets (an invite token on its way to the mail server)
    OutboxJob.objects.filter(id=row.id).update(done_at=timezone.now(), kwargs={})
    return result


def sweep_outbox(*, stale_after_seconds: int = 5, lost_after_seconds: int = 3600) -> int:
    """Scheduled: enqueue outbox rows that never reached Redis, or whose RQ job was lost."""
    now = timezone.now()
    pending = OutboxJob.objects.filter(
        done_at__isnull=True, enqueued_at__isnull=True, created_at__lte=now - timedelta(seconds=stale_after_seconds)
    ).values_list("id", flat=True)[:1000]
    count = sum(push(outbox_id) for outbox_id in pending)
    queue = get_queue(commit_mode="auto")
    for row in OutboxJob.objects.filter(
        done_at__isnull=True, enqueued_at__lt=now - timedelta(seconds=lost_after_seconds)
    )[:1000]:
        if Job.fetch_many([f"outbox-{row.id}"], connection=queue.connection)[0] is None:
            OutboxJob.objects.filter(id=row.id).update(enqueued_at=None)
            count += push(row.id)
    return count
