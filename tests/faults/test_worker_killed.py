"""Fault: a real `rqworker` is SIGKILLed in the middle of a deferred job.

The job (tests/faults/jobs_for_tests.slow_effect) is deferred through the
outbox (platform_core.jobs.defer) from an organization's schema. The first
worker applies the effect and is killed while the job still runs: the worker
and its work-horse (a child in a session of its own, so a process-group kill
would miss it) get SIGKILL at once. RQ then sees an abandoned job
once the dead worker's heartbeat expires (about 70 s); the test does not wait
for the clock but calls the very handling the second worker's registry
maintenance would run at that moment (`StartedJobRegistry.cleanup` with a
timestamp past the expiry). The job has retries (the outbox's retry policy),
so it is rescheduled; a second real worker started `--with-scheduler` runs it.
Outcome required: two attempts, the effect applied once, the outbox row done.
"""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from proof.harness import PY, ROOT, app_env, descendants, django_run, seed_orgs

pytestmark = pytest.mark.slow

DEFER = """
from django.db import transaction
from django_tenants.utils import schema_context
from platform_core.jobs import defer
from platform_core.models import OutboxJob
from tests.faults.jobs_for_tests import TABLES
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute(TABLES)
with schema_context(SCHEMA):
    with transaction.atomic():
        defer("tests.faults.jobs_for_tests.slow_effect", key=KEY, pause=PAUSE)
result = [str(r.id) for r in OutboxJob.objects.filter(kwargs__key=KEY)]
"""

ABANDON = """
import time
from rq.registry import StartedJobRegistry
from platform_core.jobs import get_queue
queue = get_queue("default", commit_mode="auto")
registry = StartedJobRegistry(queue=queue)
before = registry.get_job_ids(cleanup=False)
# What registry maintenance does once the dead worker's heartbeat TTL has run out.
registry.cleanup(timestamp=time.time() + 3600)
job = queue.fetch_job(JOB_ID)
from rq.registry import ScheduledJobRegistry
result = {"started_before": before, "status": job.get_status().value if job else None,
          "scheduled_for": str(ScheduledJobRegistry(queue=queue).get_scheduled_time(JOB_ID)) if job else None,
          "now": time.time(),
          "retries_left": job.retries_left if job else None}
"""


def _worker(env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [PY, "manage.py", "rqworker", "default", *args], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )


def test_worker_sigkilled_mid_job_runs_it_again_effect_once(pg, redis_server):
    t0 = time.monotonic()
    env = app_env(pg.url(), redis_server.url(), DJANGO_SETTINGS_MODULE="tests.faults.settings_faults")
    (org,) = seed_orgs(env, ["killed"], extra_users=0)
    key = f"effect-{os.getpid()}-{time.time_ns()}"
    (outbox_id,) = django_run(DEFER.replace("SCHEMA", repr(org["schema"])).replace("KEY", repr(key))
                              .replace("PAUSE", "4.0"), env)
    job_id = f"outbox-{outbox_id}"

    first = _worker(env)
    horses: list[int] = []
    try:
        deadline = time.monotonic() + 30
        while not pg.sql("SELECT 1 FROM public.proof_effects WHERE key = %s", params=[key]):
            assert first.poll() is None, first.stdout.read().decode()
            assert time.monotonic() < deadline, "the first worker never started the job"
            time.sleep(0.1)
        # The worker and its work-horse (a child in a session of its own), at once, mid-job.
        horses = descendants(first.pid)
        assert horses, "no work-horse: the job is not running in a forked horse"
        for pid in [first.pid, *horses]:
            os.kill(pid, signal.SIGKILL)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        first.stdout.close()
    for pid in horses:
        for _ in range(100):
            try:
                if " Z " in Path(f"/proc/{pid}/stat").read_text():
                    break
            except FileNotFoundError:
                break
            time.sleep(0.05)
        else:
            raise AssertionError(f"work-horse {pid} survived SIGKILL")
    assert pg.sql(f"SELECT done_at FROM public.{_outbox_table(pg)} WHERE id = %s", params=[outbox_id]) == [(None,)]

    state = django_run(ABANDON.replace("JOB_ID", repr(job_id)), env)
    assert job_id in [entry.split(":")[0] for entry in state["started_before"]], state
    assert state["status"] in ("scheduled", "queued"), state  # retried, not failed

    # A second real worker with the scheduler: in burst mode it enqueues the due
    # scheduled jobs, runs what is queued and exits (again if the retry was not due yet).
    outputs = []
    deadline = time.monotonic() + 30
    while len(pg.sql("SELECT 1 FROM public.proof_attempts WHERE key = %s", params=[key])) < 2:
        assert time.monotonic() < deadline, f"the job never ran again: {state}\n" + "\n".join(outputs)[-4000:]
        time.sleep(1.0)  # the retry interval (tests/faults/settings_faults.py)
        second = subprocess.run(
            [PY, "manage.py", "rqworker", "default", "--with-scheduler", "--burst"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        )
        outputs.append(second.stdout + second.stderr)
        assert second.returncode == 0, outputs[-1]

    attempts = pg.sql("SELECT schema FROM public.proof_attempts WHERE key = %s", params=[key])
    effects = pg.sql("SELECT applied FROM public.proof_effects WHERE key = %s", params=[key])
    done_at, outbox_attempts = pg.sql(
        f"SELECT done_at, attempts FROM public.{_outbox_table(pg)} WHERE id = %s", params=[outbox_id])[0]
    assert attempts == [(org["schema"],), (org["schema"],)], attempts  # ran again, in its tenant
    assert effects == [(1,)]  # effect once
    assert done_at is not None and outbox_attempts == 2
    assert time.monotonic() - t0 < 60


def _outbox_table(pg) -> str:
    (name,) = pg.sql(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name LIKE %s",
        params=["%outbox%"],
    )[0]
    return name
