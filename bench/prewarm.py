"""Fill the caches that a warm server reads, in-process, before the warm load runs.

    python bench/prewarm.py --targets targets.tsv [--shard 0 --shards 2]

A warm run at 1,000 organizations must not meet a cold organization: with
requests spread round-robin, every one would be a first. Warming through
HTTP costs a full board rendering per organization (about 50 ms of CPU each)
and a full request per user, so this script makes the calls that fill the
same Redis entries, and nothing more:

- per organization: `selectors.board_detail(actor, board_id)` and
  `selectors.tasks_page(...)` with the arguments the handlers pass for the
  benchmarked requests (query-cache entries), without rendering any JSON;
- then per (organization, user) line: `resolve_host(host)` and
  `user_from_access_token(token, org_id)`, the calls the tenant middleware
  and the auth class make (host, user, session and role entries, which live
  only 300 s: hence last).

`--auth-only` does the second pass alone: bench/run uses it to refresh the
300 s entries when the warm-up took long (a busy machine, or the HTTP
fallback), right before the measured runs.

Then it checks a few organizations: the full `GET /org`, `GET /boards/{id}`
and `GET /tasks?...` through Django's test Client must run zero SQL. It prints
one JSON line with the counts and `verified`; bench/main.py falls back to an
HTTP warm-up pass if verification fails (for example after the handlers or
selectors changed).
"""

import argparse
import json
import time
import zlib
from uuid import UUID

from _common import django_setup


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--targets", required=True)
    parser.add_argument("--shard", type=int, default=0)
    parser.add_argument("--shards", type=int, default=1)
    parser.add_argument("--verify", type=int, default=4, help="organizations checked for zero SQL")
    parser.add_argument("--auth-only", action="store_true", help="only the host/user/session/role entries")
    options = parser.parse_args()
    django_setup()

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django_tenants.utils import schema_context

    from platform_core.auth import Actor, user_from_access_token
    from platform_core.pagination import PageQuery
    from platform_core.tenancy import resolve_host
    from tenant_apps.boards import selectors
    from tenant_apps.boards.schemas import TaskFilters

    lines = [line.split("\t") for line in open(options.targets).read().splitlines() if line]
    lines = [f for f in lines if zlib.crc32(f[0].encode()) % options.shards == options.shard]
    query = {"board_id": None, "status": "open", "priority": "high"}
    t0 = time.perf_counter()
    boards_done: set[str] = set()
    errors: list[str] = []
    # Pass 1, per organization: the query-cache entries (they live 15 minutes).
    for host, _role, token, board, *_ in [] if options.auth_only else lines:
        if host in boards_done:
            continue
        boards_done.add(host)
        tenant = resolve_host(host)
        user, member_role = user_from_access_token(token, org_id=tenant.id)
        actor = Actor(
            user_id=UUID(user.id),
            email=user.email,
            name=user.name,
            org_id=UUID(tenant.id),
            role=member_role,
        )
        filters = TaskFilters(**{**query, "board_id": board}).dict()
        page = PageQuery(limit=50)
        with schema_context(tenant.schema_name):
            selectors.board_detail_json(actor, UUID(board))
            selectors.tasks_page(actor=actor, **filters, limit=page.limit, cursor=page.cursor)
    # Pass 2, per (organization, user): host, user, session and role entries. They
    # live 300 s, so they are filled last, right before the measured runs.
    requests = 0
    for host, _role, token, *_ in lines:
        tenant = resolve_host(host)
        user_from_access_token(token, org_id=tenant.id)
        requests += 1
    warm_s = time.perf_counter() - t0

    checked, sql = 0, 0
    for host, _role, token, board, *_ in lines[:: max(1, len(lines) // options.verify)][
        : options.verify
    ]:
        client = Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Bearer {token}")
        with CaptureQueriesContext(connection) as ctx:
            o = client.get("/api/v1/org")
            a = client.get(f"/api/v1/boards/{board}")
            b = client.get(
                "/api/v1/tasks",
                {"board_id": board, "status": "open", "priority": "high", "limit": 50},
            )
        checked += 1
        sql += len(ctx.captured_queries)
        if ctx.captured_queries and len(errors) < 3:
            errors.append(
                f"{host}: " + " | ".join(q["sql"][:160] for q in ctx.captured_queries[:4])
            )
        if (o.status_code, a.status_code, b.status_code) != (200, 200, 200) and len(errors) < 3:
            errors.append(f"{host} verify {o.status_code} {a.status_code} {b.status_code}")
    print(
        json.dumps(
            {
                "lines": len(lines),
                "orgs": len(boards_done),
                "users": requests,
                "seconds": round(warm_s, 1),
                "verified": sql == 0 and checked > 0,
                "verify_orgs": checked,
                "verify_sql": sql,
                "errors": errors,
            }
        )
    )


if __name__ == "__main__":
    main()
