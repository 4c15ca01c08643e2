"""Periodic jobs: `python manage.py rqcron platform_core/cron.py`.

Run exactly one rqcron process per deployment (it enqueues; the rqworkers
run the jobs). Cron strings use the scheduler's local time zone (run it
with TZ=UTC). The scheduler enqueues through a plain RQ queue, not
TenantQueue: every entry must name its schema in `meta`, or the worker
(TenantJob) refuses to run it. Platform-wide jobs run in `public`; jobs
that need a tenant fan out from there (see tenant_apps.boards.summaries).

To add a job: import its function and add one `cron.register(...)` line.
This module is wiring: it may name any app (see [tool.importlinter]).
"""

from rq import cron

from platform_core.idempotency import idempotency_sweep
from platform_core.jobs import SCHEMA_META, sweep_outbox
from provisioning.jobs import drop_deleted_schemas, refill_spare_pool
from tenant_apps.boards.summaries import daily_summaries

PUBLIC = {SCHEMA_META: "public"}

# Outbox rows that never reached Redis (it was down at commit) or whose RQ job was lost.
cron.register(sweep_outbox, queue_name="default", interval=30, meta=PUBLIC, job_timeout=120)

# Daily task summaries: one job per active organization, each in its own schema.
cron.register(daily_summaries, queue_name="default", cron="0 7 * * *", meta=PUBLIC, job_timeout=600)

# Keep the pool of ready, migrated spare schemas full (org creation claims one).
cron.register(refill_spare_pool, queue_name="default", interval=60, meta=PUBLIC, job_timeout=600)

# Drop the schemas of organizations deleted longer ago than ORG_DELETE_RETENTION_DAYS.
cron.register(drop_deleted_schemas, queue_name="default", cron="17 * * * *", meta=PUBLIC, job_timeout=1800)

# Idempotency keys live 24 hours.
cron.register(idempotency_sweep, queue_name="default", cron="23 * * * *", meta=PUBLIC, job_timeout=600)
