"""Per-call cost of the boards writes: SQL statements and CPU time.

    python bench/service_writes.py [--calls 60] [--sql] [--only task_create,http_move]

Against the development database of ops/run (like bench/ranking.py): it
provisions a throwaway organization, calls each write once under
CaptureQueriesContext (statements per call; `--sql` prints them), then 3
rounds of `--calls` calls (CPU ms per call: time.process_time, the best
round), and drops the organization. Run it from two trees to compare a
change with its base.

Two kinds of rows: the services called directly (`board_update` ...
`comment_update`), and `http_create` / `http_move`, the same writes as
requests through Django's test Client (the whole middleware stack: host ->
organization, JWT auth, the handler's access helper, the service, the
response), i.e. POST /api/v1/tasks and POST /api/v1/tasks/{id}/move as the
API serves them, minus the server (no sockets, no ASGI hand-off).
"""

import argparse
import contextlib
import io
import json
import time
import uuid

from _common import django_setup
from ranking import _defaults


def measure(
    op, calls: int, counter: list[int], show_sql: bool, profile: bool = False
) -> tuple[int, float]:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    reset_queries()  # the log is bounded: a full one would count nothing
    with CaptureQueriesContext(connection) as queries:
        op(counter[0])
    captured = list(queries.captured_queries)  # (a property over the live log)
    counter[0] += 1
    if show_sql:
        for q in captured:
            print(f"    {' '.join(q['sql'].split())[:200]}")
    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile(time.process_time)  # CPU, not wall time
        profiler.enable()
        for _ in range(calls):
            op(counter[0])
            counter[0] += 1
        profiler.disable()
        stats = pstats.Stats(profiler).sort_stats("cumulative")
        stats.print_stats(45)
        stats.print_callees("services/tasks.py.*task_(create|move)$")
    best = float("inf")
    for _ in range(3):
        t0 = time.process_time()
        for _ in range(calls):
            op(counter[0])
            counter[0] += 1
        best = min(best, (time.process_time() - t0) * 1000 / calls)
    return len(captured), best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--sql", action="store_true", help="print the statements of each write")
    parser.add_argument("--only", default="", help="comma-separated rows to run (default: all)")
    parser.add_argument("--profile", action="store_true", help="cProfile each row's calls (top 30)")
    options = parser.parse_args()
    _defaults()
    django_setup()

    from django.conf import settings
    from django.core.management import call_command
    from django.core.signals import request_started
    from django.db import connection, reset_queries
    from django.test import Client
    from django_tenants.utils import schema_context
    from ninja_jwt.tokens import AccessToken

    from platform_core.auth import Actor
    from provisioning.services import org_delete, org_drop_schema, org_provision
    from shared_apps.accounts.models import AuthSession, User
    from tenant_apps.boards import services

    with contextlib.redirect_stdout(io.StringIO()):
        call_command("setup_platform", verbosity=0, stdout=io.StringIO())
    # Keep each request's statements in connection.queries (CaptureQueriesContext
    # counts them); Django empties the log when a request starts.
    request_started.disconnect(reset_queries)
    tag = uuid.uuid4().hex[:8]
    owner = User.objects.create_user(
        email=f"bench-writes-{tag}@example.com", password=uuid.uuid4().hex, name="Bench writes"
    )
    org = org_provision(owner=owner, name="Bench writes", slug=f"bench-writes-{tag}")
    actor = Actor(user_id=owner.id, email=owner.email, name=owner.name, org_id=org.id, role="owner")
    session = AuthSession.objects.create(user=owner)
    token = AccessToken()
    token["user_id"] = str(owner.id)
    token["sid"] = str(session.id)
    client = Client(
        HTTP_HOST=f"{org.slug}.{settings.BASE_DOMAIN}",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        raise_request_exception=True,
    )
    try:
        with schema_context(org.schema_name):
            board = services.board_create(actor=actor, name="Writes")
            one = services.list_create(actor=actor, board=board, name="one")
            two = services.list_create(actor=actor, board=board, name="two")
            task = services.task_create(actor=actor, task_list=one, title="t")
            moving = [services.task_create(actor=actor, task_list=one, title="m")]
            http_moving = services.task_create(actor=actor, task_list=one, title="h")
            comment = services.comment_create(actor=actor, task=task, body="c")

        def move(i: int) -> None:
            to_list = two if i % 2 == 0 else one
            moving[0] = services.task_move(
                actor=actor, task=moving[0], to_list=to_list, position=0
            )

        def post(path: str, data: dict, status: int) -> None:
            response = client.post(path, json.dumps(data), content_type="application/json")
            assert response.status_code == status, response.content

        def http_create(i: int) -> None:
            post("/api/v1/tasks", {"list_id": str(two.id), "title": f"h{i}"}, 201)

        def http_move(i: int) -> None:
            to_list = two if i % 2 == 0 else one
            post(
                f"/api/v1/tasks/{http_moving.id}/move",
                {"list_id": str(to_list.id), "position": 1},
                200,
            )

        ops = {
            "board_update": lambda i: services.board_update(actor=actor, board=board, name=f"n{i}"),
            "list_update": lambda i: services.list_update(actor=actor, task_list=one, name=f"n{i}"),
            "task_create": lambda i: services.task_create(
                actor=actor, task_list=two, title=f"t{i}"
            ),
            "task_update": lambda i: services.task_update(actor=actor, task=task, title=f"t{i}"),
            "task_move": move,
            "comment_update": lambda i: services.comment_update(
                actor=actor, comment=comment, body=f"c{i}"
            ),
        }
        only = set(filter(None, options.only.split(",")))
        counter = [0]
        print(f"write | sql/call | cpu_ms/call (best of 3 x {options.calls})")
        with schema_context(org.schema_name):
            for name, op in ops.items():
                if only and name not in only:
                    continue
                statements, cpu_ms = measure(op, options.calls, counter, options.sql, options.profile)
                print(f"{name} | {statements} | {cpu_ms:.2f}")
        # Through the stack: the middleware selects the schema from the host.
        http_create(counter[0])  # fills the host/user/session/role cache
        for name, op in {"http_create": http_create, "http_move": http_move}.items():
            if only and name not in only:
                continue
            statements, cpu_ms = measure(op, options.calls, counter, options.sql, options.profile)
            print(f"{name} | {statements} | {cpu_ms:.2f}")
    finally:
        connection.set_schema_to_public()
        org_delete(org=org, actor_id=owner.id, via="bench")
        org_drop_schema(org=org, actor_id=owner.id)
        owner.delete()


if __name__ == "__main__":
    main()
