"""Fault: Redis stopped in the middle of a run of mutations against a real API
server (granian), then started again (same port, same data folder, AOF on as
in ops/lib.sh).

Required:
- every request is answered, and no 500: writes go on without Redis (caches
  fall back to PostgreSQL; jobs wait in the outbox);
- every successful mutation has exactly its audit event, no task or comment
  exists without one;
- the invite emails deferred before, during and after the outage are all
  delivered, each once, to a real SMTP server (aiosmtpd) once Redis is back:
  the outbox sweeper (platform_core.jobs.sweep_outbox) pushes what never
  reached Redis and a real `rqworker --burst` sends them.
"""

import signal
import time

import pytest

from proof.harness import PY, ROOT, app_env, django_run, http, seed_orgs
from tests.faults.traffic import (
    Traffic,
    audit_by_request,
    board_with_lists,
    check_audit,
    clean_failure,
    orphan_rows,
    summarize,
)

pytestmark = pytest.mark.slow

SWEEP = """
from platform_core.jobs import sweep_outbox
result = sweep_outbox(stale_after_seconds=0)
"""


def test_redis_outage_mid_run_no_500_audit_complete_invites_delivered_once(pg, redis_server, smtp, servers):
    import subprocess

    env = app_env(pg.url(), redis_server.url(), **smtp.env())
    (org,) = seed_orgs(env, ["redisdown"], extra_users=1)
    server = servers(env, workers=1)
    _, lists = board_with_lists(server.url, org)
    traffic = Traffic(server.url, org["host"], org["users"][0]["token"], lists, invites=True, threads=3,
                      timeout=30).start()
    try:
        time.sleep(3)
        stopped_at = time.monotonic()
        redis_server.stop(signal.SIGTERM)
        time.sleep(2.5)
        ready_down = http(server.url, "GET", "/readyz", host="localhost", timeout=30)
        time.sleep(2.5)
        redis_server.start()
        back_at = time.monotonic()
        time.sleep(3)
    finally:
        results = traffic.stop()

    during = [r for r in results if stopped_at <= r.at < back_at]
    invites = [r for r in results if r.op == "invite.create" and r.status == 201]
    summarize("redis outage", results, outage_seconds=round(back_at - stopped_at, 1), during=len(during),
              invites_created=len(invites), invites_during=len([r for r in invites if r in during]))
    assert [r for r in results if r.status is None] == [], "requests without an answer"
    assert max(r.seconds for r in results) < 10, "a request hung"
    assert len(during) > 5, "no traffic during the outage"
    assert [(r.op, r.status, r.body) for r in results if r.status >= 500] == []
    assert all(r.status < 400 or clean_failure(r) for r in results)
    assert ready_down[0] == 503 and ready_down[2]["checks"]["redis"] == "unavailable", ready_down
    assert [r for r in invites if r in during], "no invite created during the outage"
    assert check_audit([r for r in results if r.action], audit_by_request(pg, org["schema"])) == []
    assert orphan_rows(pg, org["schema"]) == []

    # Redis is back: the sweeper pushes what never reached Redis, a real worker sends.
    django_run(SWEEP, env)
    worker = subprocess.run([PY, "manage.py", "rqworker", "default", "emails", "--burst"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert worker.returncode == 0, worker.stdout[-2000:] + worker.stderr[-2000:]
    for r in invites:
        assert len(smtp.to(r.body["email"])) == 1, f"invite {r.body['email']}: {len(smtp.to(r.body['email']))} emails"
    assert len(smtp.messages) == len(invites)
    pending = pg.sql("SELECT count(*) FROM public.platform_core_outboxjob WHERE done_at IS NULL")
    assert pending == [(0,)], pending
