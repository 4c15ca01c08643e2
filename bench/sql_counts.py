"""SQL statements per request, cold and warm, for each benchmarked endpoint.

    python bench/sql_counts.py --state DIR

Runs each request in-process through Django's test Client (the whole
middleware stack, host selects the tenant) against the seeded bench database,
inside CaptureQueriesContext. "cold" is the first request after the cache
Redis database is flushed (cacheops and the host/user/session/role cache all
empty); "warm" is the same request made again. Statements are split by the
tables they name: board data (boards_*), audit (audit_*), and the public
schema (users, sessions, organizations, memberships).
"""

import argparse
import json
import os
import re
from pathlib import Path

from _common import django_setup

TABLE_RE = re.compile(r'"(boards|audit|accounts|orgs|token_blacklist|invites)_[a-z_]+"')


def classify(sql: str) -> str:
    kinds = {m.group(1) for m in TABLE_RE.finditer(sql)}
    if "boards" in kinds:
        return "board_data"
    if "audit" in kinds:
        return "audit"
    if kinds:
        return "public"
    return "other"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--state", required=True)
    parser.add_argument("--org", type=int, default=1, help="which seeded organization to use")
    options = parser.parse_args()
    os.environ.setdefault("CONN_MAX_AGE", "600")
    django_setup()

    import redis
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from ninja_jwt.tokens import AccessToken
    from seed import map_uuid, slug_of

    template = json.loads((Path(options.state) / "template.json").read_text())
    i = options.org
    host = f"{slug_of(i)}.{settings.BASE_DOMAIN}"
    token = AccessToken()
    token["user_id"] = str(map_uuid(template["users"]["owner"], i))
    token["sid"] = str(map_uuid(template["sessions"]["owner"], i))
    client = Client(
        HTTP_HOST=host, HTTP_AUTHORIZATION=f"Bearer {token}", raise_request_exception=False
    )
    board = map_uuid(template["big_board"], i)
    lists = [str(map_uuid(x, i)) for x in template["scratch_lists"]]
    tasks = [str(map_uuid(x, i)) for x in template["scratch_tasks"]]
    cache_db = redis.Redis.from_url(settings.CACHE_REDIS_URL)

    def body(data: dict) -> dict:
        return {"data": json.dumps(data), "content_type": "application/json"}

    endpoints = {
        "healthz": lambda k: client.get("/healthz"),
        "org": lambda k: client.get("/api/v1/org"),
        "board": lambda k: client.get(f"/api/v1/boards/{board}"),
        "tasks": lambda k: client.get(
            "/api/v1/tasks",
            {"board_id": str(board), "status": "open", "priority": "high", "limit": 50},
        ),
        "create": lambda k: client.post(
            "/api/v1/tasks", **body({"list_id": lists[k % len(lists)], "title": f"SQL count {k}"})
        ),
        "move": lambda k: client.post(
            f"/api/v1/tasks/{tasks[k]}/move",
            **body({"list_id": lists[(k + 1) % len(lists)], "position": 3}),
        ),
    }

    out: dict = {"org": slug_of(i), "endpoints": {}}
    for name, call in endpoints.items():
        cache_db.flushdb()
        row = {}
        for k, label in enumerate(("cold", "warm")):
            with CaptureQueriesContext(connection) as ctx:
                response = call(k)
            kinds: dict[str, int] = {}
            for q in ctx.captured_queries:
                kind = classify(q["sql"])
                kinds[kind] = kinds.get(kind, 0) + 1
            row[label] = {
                "status": response.status_code,
                "total": len(ctx.captured_queries),
                **kinds,
                "statements": [q["sql"][:240] for q in ctx.captured_queries],
            }
        out["endpoints"][name] = row
    cache_db.flushdb()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
