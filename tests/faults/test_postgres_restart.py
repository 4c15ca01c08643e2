"""Fault: PostgreSQL restarted under a running API server (granian, DB pool on,
as in production), while clients keep writing.

Required: during the outage every request is answered, fast, with a JSON
error envelope (a 5xx, never an HTML page, never a hang); /readyz says 503;
once PostgreSQL is back the same server (not restarted) serves writes again
within a few seconds, and every successful write has its audit event.
"""

import time

import pytest

from proof.harness import app_env, http, seed_orgs
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

RECOVERY_GRACE_SECONDS = 3


def test_postgres_restart_fails_cleanly_and_recovers_without_api_restart(pg, redis_server, servers):
    env = app_env(pg.url(), redis_server.url())  # DB pool on, as in production
    (org,) = seed_orgs(env, ["pgrestart"], extra_users=0)
    server = servers(env, workers=1)
    _, lists = board_with_lists(server.url, org)
    traffic = Traffic(server.url, org["host"], org["users"][0]["token"], lists, threads=3, timeout=30).start()
    try:
        time.sleep(2)
        stopped_at = time.monotonic()
        pg.stop("fast")
        time.sleep(1)
        ready_down = http(server.url, "GET", "/readyz", host="localhost", timeout=30)  # waits the pool timeout
        pg.start()
        back_at = time.monotonic()
        time.sleep(RECOVERY_GRACE_SECONDS + 2)
    finally:
        results = traffic.stop()
    ready_up = http(server.url, "GET", "/readyz", host="localhost", timeout=30)

    mutations = [r for r in results if r.action]
    after = [r for r in results if r.at >= back_at + RECOVERY_GRACE_SECONDS]
    first_ok = min((r.at for r in results if r.at >= back_at and r.status in (200, 201)), default=None)
    summarize("postgres restart", results, outage_seconds=round(back_at - stopped_at, 1),
              during=len([r for r in results if stopped_at <= r.at < back_at]),
              first_success_after_back_s=round(first_ok - back_at, 2) if first_ok else None,
              failures_after_back=len([r for r in results if r.at >= back_at and r.status not in (200, 201)]))
    assert len([r for r in results if r.at < stopped_at and r.status in (200, 201)]) > 5  # traffic before
    assert [r for r in results if r.status is None] == [], "requests without an answer"
    assert max(r.seconds for r in results) < 15, "a request hung"
    during = [r for r in results if stopped_at <= r.at < back_at]
    assert during, "no request during the outage"
    assert all(r.status in (200, 201) or (r.status >= 500 and clean_failure(r)) for r in during), [
        (r.op, r.status, r.content_type, str(r.body)[:200]) for r in during if r.status not in (200, 201)][:5]
    # the failures say what happened: 503 database_unavailable, retryable
    assert all(r.status == 503 and r.body["code"] == "database_unavailable"
               for r in during if r.status not in (200, 201)), [
        (r.op, r.status, str(r.body)[:200]) for r in during if r.status not in (200, 201)][:5]
    assert any(r.status >= 500 for r in during), "the outage was not noticed"
    assert ready_down[0] == 503 and ready_down[2]["checks"]["database"] == "unavailable", ready_down
    assert ready_up[0] == 200, ready_up

    assert after and all(r.status in (200, 201) for r in after), [(r.op, r.status, r.body) for r in after
                                                                  if r.status not in (200, 201)][:5]
    assert all(r.status in (200, 201) or r.status >= 500 for r in results), "a 4xx appeared"
    assert check_audit(mutations, audit_by_request(pg, org["schema"])) == []
    assert orphan_rows(pg, org["schema"]) == []
    assert server.proc.poll() is None  # the same server process throughout
