"""Tenant-aware jobs with a real Redis and a real RQ worker: a job runs in the
schema it was enqueued from and sees only that organization's rows; a job
that names no schema refuses to run; the outbox survives rollbacks and lost
jobs; the rqworker command and the cron config use the tenant-aware classes."""

import os
import subprocess
import sys
import uuid
from datetime import timedelta

import django_rq
import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context
from rq import Queue
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry

from platform_core.jobs import (
    MissingTenant,
    TenantJob,
    TenantQueue,
    defer,
    get_queue,
    run_outbox_job,
    sweep_outbox,
)
from tests.jobs import jobfuncs
from tests.jobs.realparts import queue_url, run_worker

pytestmark = pytest.mark.django_db(transaction=True)


def _seed(world, marker: str) -> None:
    """One marker row in A and one in B, each saying whose it is."""
    from tenant_apps.audit.models import AuditEvent

    for org, name in ((world.a.org, "a"), (world.b.org, "b")):
        with tenant_context(org):
            AuditEvent.objects.create(action="test.job", target_type="test", changes={"marker": marker, "org": name})


def _marker_rows(org, marker: str) -> list[str]:
    from tenant_apps.audit.models import AuditEvent

    with tenant_context(org):
        events = AuditEvent.objects.filter(action="test.job", changes__marker=marker)
        return sorted(e.changes.get("org", "") for e in events)


def _fetch(job_id) -> Job:
    return TenantJob.fetch(job_id, connection=django_rq.get_connection())


def test_job_runs_in_the_schema_it_was_enqueued_from(world):
    marker = uuid.uuid4().hex
    _seed(world, marker)
    with tenant_context(world.a.org):
        job_a = get_queue().enqueue(jobfuncs.mark_and_count, marker=marker)
    with tenant_context(world.b.org):
        job_b = get_queue().enqueue(jobfuncs.mark_and_count, marker=marker)
    assert job_a.meta["schema_name"] == world.a.org.schema_name
    assert job_b.meta["schema_name"] == world.b.org.schema_name
    assert connection.schema_name == "public"

    run_worker("default")

    a, b = _fetch(job_a.id), _fetch(job_b.id)
    assert a.get_status() == b.get_status() == JobStatus.FINISHED
    # each job saw its own seed row plus the row it wrote, never the other org's
    assert a.return_value() == {"schema": world.a.org.schema_name, "count": 2, "orgs": ["", "a"]}
    assert b.return_value() == {"schema": world.b.org.schema_name, "count": 2, "orgs": ["", "b"]}
    assert _marker_rows(world.a.org, marker) == ["", "a"]
    assert _marker_rows(world.b.org, marker) == ["", "b"]
    assert connection.schema_name == "public"  # the worker put the connection back


def test_job_without_schema_refuses_to_run(world):
    marker = uuid.uuid4().hex
    _seed(world, marker)
    redis = django_rq.get_connection()
    plain = Queue("default", connection=redis).enqueue(jobfuncs.mark_and_count, marker=marker)
    assert "schema_name" not in plain.meta
    unknown = Queue("default", connection=redis).enqueue(
        jobfuncs.mark_and_count, marker=marker, meta={"schema_name": "t_" + uuid.uuid4().hex}
    )

    run_worker("default")

    for job_id in (plain.id, unknown.id):
        job = _fetch(job_id)
        assert job.get_status() == JobStatus.FAILED
        assert "MissingTenant" in job.latest_result().exc_string
        assert job_id in FailedJobRegistry("default", connection=redis)
    assert _marker_rows(world.a.org, marker) == ["a"]  # nothing ran anywhere
    assert _marker_rows(world.b.org, marker) == ["b"]


def test_tenant_queue_never_guesses_public(world):
    with pytest.raises(MissingTenant):
        get_queue().enqueue(jobfuncs.whoami)
    job = get_queue().enqueue(jobfuncs.whoami, meta={"schema_name": "public"})
    run_worker("default")
    assert _fetch(job.id).return_value() == "public"


def test_rqworker_gets_the_tenant_classes_from_settings(world):
    from django_rq.workers import get_worker

    worker = get_worker("default", "emails")
    assert worker.job_class is TenantJob
    assert [type(q) for q in worker.queues] == [TenantQueue, TenantQueue]
    assert [q.name for q in worker.queues] == ["default", "emails"]


def test_rqworker_command_runs_jobs_in_their_tenant(world):
    """The production command, as a separate process, against the test database."""
    marker = uuid.uuid4().hex
    _seed(world, marker)
    with tenant_context(world.a.org):
        job_a = get_queue("emails").enqueue(jobfuncs.mark_and_count, marker=marker)
    with tenant_context(world.b.org):
        job_b = get_queue("default").enqueue(jobfuncs.whoami)
    plain = Queue("default", connection=django_rq.get_connection()).enqueue(jobfuncs.whoami)

    assert _exists(job_a.id) and _exists(plain.id), "before"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": queue_url(),  # the worker's queues = ours
        "TESTING": "1",
        "DB_POOL": "0",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "rqworker", "default", "emails", "--with-scheduler", "--burst"],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    log = (done.stdout + done.stderr)[-6000:]
    result = _fetch(job_a.id).latest_result()
    assert _fetch(job_a.id).get_status() == JobStatus.FINISHED, (result and result.exc_string, log)
    assert _fetch(job_a.id).return_value() == {"schema": world.a.org.schema_name, "count": 2, "orgs": ["", "a"]}
    assert _fetch(job_b.id).return_value() == world.b.org.schema_name
    assert _fetch(plain.id).get_status() == JobStatus.FAILED
    assert _marker_rows(world.b.org, marker) == ["b"]


# --- the outbox -------------------------------------------------------------------------------


def test_deferred_job_runs_after_commit_in_its_tenant(world):
    from platform_core.models import OutboxJob

    marker = uuid.uuid4().hex
    _seed(world, marker)
    with tenant_context(world.a.org):
        with transaction.atomic():
            defer("tests.jobs.jobfuncs.mark_and_count", marker=marker)
            row = OutboxJob.objects.get(kwargs__marker=marker)
            assert row.enqueued_at is None  # not before the commit
    row.refresh_from_db()
    assert row.enqueued_at is not None and row.schema_name == world.a.org.schema_name
    job = _fetch(f"outbox-{row.id}")
    assert job.meta["schema_name"] == world.a.org.schema_name and job.retries_left == 5

    run_worker("default")

    row.refresh_from_db()
    assert row.done_at is not None and row.kwargs == {} and row.attempts == 1
    assert _fetch(job.id).return_value() == {"schema": world.a.org.schema_name, "count": 2, "orgs": ["", "a"]}
    assert _marker_rows(world.b.org, marker) == ["b"]
    # at least once, effect once: a second delivery of the same row does nothing
    with tenant_context(world.a.org):
        assert run_outbox_job(str(row.id)) == "skipped"
    assert _marker_rows(world.a.org, marker) == ["", "a"]


def test_rolled_back_defer_leaves_nothing(world):
    from platform_core.models import OutboxJob

    marker = uuid.uuid4().hex
    with tenant_context(world.a.org), pytest.raises(RuntimeError):
        with transaction.atomic():
            defer("tests.jobs.jobfuncs.mark_and_count", marker=marker)
            raise RuntimeError("rollback")
    assert not OutboxJob.objects.filter(kwargs__marker=marker).exists()
    assert get_queue("default").count == 0


def test_outbox_job_refuses_another_schema(world):
    from platform_core.models import OutboxJob

    row = OutboxJob.objects.create(
        schema_name=world.a.org.schema_name, func="tests.jobs.jobfuncs.whoami", kwargs={}, queue="default"
    )
    job = get_queue().enqueue("platform_core.jobs.run_outbox_job", outbox_id=str(row.id),
                              meta={"schema_name": world.b.org.schema_name})
    run_worker("default")
    assert "MissingTenant" in _fetch(job.id).latest_result().exc_string
    row.refresh_from_db()
    assert row.done_at is None


def test_sweeper_pushes_rows_that_never_reached_redis_or_were_lost(world):
    from platform_core.models import OutboxJob

    old = timezone.now() - timedelta(hours=2)
    never = OutboxJob.objects.create(schema_name=world.a.org.schema_name, func="tests.jobs.jobfuncs.whoami",
                                     queue="default", created_at=old)
    lost = OutboxJob.objects.create(schema_name=world.b.org.schema_name, func="tests.jobs.jobfuncs.whoami",
                                    queue="default", created_at=old, enqueued_at=old)
    fresh = OutboxJob.objects.create(schema_name=world.a.org.schema_name, func="tests.jobs.jobfuncs.whoami",
                                     queue="default")  # its own on_commit push is still in flight
    with schema_context("public"):
        assert sweep_outbox() == 2
    assert not _exists(f"outbox-{fresh.id}")
    run_worker("default")
    assert _fetch(f"outbox-{never.id}").return_value() == world.a.org.schema_name
    assert _fetch(f"outbox-{lost.id}").return_value() == world.b.org.schema_name
    assert OutboxJob.objects.filter(id__in=[never.id, lost.id], done_at__isnull=False).count() == 2
    assert sweep_outbox() == 0  # nothing left to do


def _exists(job_id) -> bool:
    return Job.fetch_many([job_id], connection=django_rq.get_connection())[0] is not None


# --- cron ------------------------------------------------------------------------------------------


def test_cron_config_enqueues_platform_jobs_in_public(world):
    from django_rq.cron import DjangoCronScheduler

    scheduler = DjangoCronScheduler()
    scheduler.load_config_from_file("platform_core/cron.py")
    jobs = {j.func_name: j for j in scheduler.get_jobs()}
    assert set(jobs) == {
        "platform_core.jobs.sweep_outbox",
        "tenant_apps.boards.summaries.daily_summaries",
        "provisioning.jobs.refill_spare_pool",
        "provisioning.jobs.drop_deleted_schemas",
        "platform_core.idempotency.idempotency_sweep",
    }
    assert jobs["platform_core.jobs.sweep_outbox"].interval == 30
    assert jobs["platform_core.idempotency.idempotency_sweep"].cron == "23 * * * *"
    assert jobs["tenant_apps.boards.summaries.daily_summaries"].cron == "0 7 * * *"
    assert all(j.job_options["meta"] == {"schema_name": "public"} for j in jobs.values())

    # (the provisioning jobs are exercised in tests/provisioning)
    ours = (
        "platform_core.jobs.sweep_outbox",
        "tenant_apps.boards.summaries.daily_summaries",
        "platform_core.idempotency.idempotency_sweep",
    )
    enqueued = [jobs[name].enqueue(scheduler.connection) for name in ours]
    run_worker("default")
    for job in enqueued:
        assert _fetch(job.id).get_status() == JobStatus.FINISHED, _fetch(job.id).latest_result().exc_string
    # the fan-out queued one summary job per active organization, each in its schema
    fanned = [_fetch(i) for i in get_queue("emails").job_ids]
    schemas = {j.meta["schema_name"] for j in fanned}
    assert {world.a.org.schema_name, world.b.org.schema_name} <= schemas
    assert "public" not in schemas
