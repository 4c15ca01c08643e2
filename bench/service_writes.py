"""Per-call cost of the boards write services: SQL statements and CPU time.

    python bench/service_writes.py [--calls 60]

Against the development database of ops/run (like bench/ranking.py): it
provisions a throwaway organization, calls each service once under
CaptureQueriesContext (statements per call), then 3 rounds of `--calls` calls
(CPU ms per call: time.process_time, the best round), and drops the
organization. Run it from two trees to compare a change with its base.
"""

import argparse
import contextlib
import io
import time
import uuid

from _common import django_setup
from ranking import _defaults


def measure(op, calls: int, counter: list[int]) -> tuple[int, float]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        op(counter[0])
    counter[0] += 1
    best = float("inf")
    for _ in range(3):
        t0 = time.process_time()
        for _ in range(calls):
            op(counter[0])
            counter[0] += 1
        best = min(best, (time.process_time() - t0) * 1000 / calls)
    return len(queries.captured_queries), best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=60)
    options = parser.parse_args()
    _defaults()
    django_setup()

    from django.core.management import call_command
    from django.db import connection
    from django_tenants.utils import schema_context

    from platform_core.auth import Actor
    from provisioning.services import org_delete, org_drop_schema, org_provision
    from shared_apps.accounts.models import User
    from tenant_apps.boards import services

    with contextlib.redirect_stdout(io.StringIO()):
        call_command("setup_platform", verbosity=0, stdout=io.StringIO())
    tag = uuid.uuid4().hex[:8]
    owner = User.objects.create_user(
        email=f"bench-writes-{tag}@example.com", password=uuid.uuid4().hex, name="Bench writes"
    )
    org = org_provision(owner=owner, name="Bench writes", slug=f"bench-writes-{tag}")
    actor = Actor(user_id=owner.id, email=owner.email, name=owner.name, org_id=org.id, role="owner")
    try:
        with schema_context(org.schema_name):
            board = services.board_create(actor=actor, name="Writes")
            one = services.list_create(actor=actor, board=board, name="one")
            two = services.list_create(actor=actor, board=board, name="two")
            task = services.task_create(actor=actor, task_list=one, title="t")
            moving = [services.task_create(actor=actor, task_list=one, title="m")]
            comment = services.comment_create(actor=actor, task=task, body="c")

            def move(i: int) -> None:
                to_list = two if i % 2 == 0 else one
                moving[0] = services.task_move(
                    actor=actor, task=moving[0], to_list=to_list, position=0
                )

            ops = {
                "board_update": lambda i: services.board_update(
                    actor=actor, board=board, name=f"n{i}"
                ),
                "list_update": lambda i: services.list_update(
                    actor=actor, task_list=one, name=f"n{i}"
                ),
                "task_create": lambda i: services.task_create(
                    actor=actor, task_list=two, title=f"t{i}"
                ),
                "task_update": lambda i: services.task_update(
                    actor=actor, task=task, title=f"t{i}"
                ),
                "task_move": move,
                "comment_update": lambda i: services.comment_update(
                    actor=actor, comment=comment, body=f"c{i}"
                ),
            }
            counter = [0]
            print(f"service | sql/call | cpu_ms/call (best of 3 x {options.calls})")
            for name, op in ops.items():
                statements, cpu_ms = measure(op, options.calls, counter)
                print(f"{name} | {statements} | {cpu_ms:.2f}")
    finally:
        connection.set_schema_to_public()
        org_delete(org=org, actor_id=owner.id, via="bench")
        org_drop_schema(org=org, actor_id=owner.id)
        owner.delete()


if __name__ == "__main__":
    main()
