"""Cost of placing tasks in a long list, and the size of its board detail.

    python bench/ranking.py [--size 2000] [--inserts 500] [--spacing N] [--json]

Against the development database of ops/run (DATABASE_URL / REDIS_URL, by
default built from PG_PORT / REDIS_PORT like ops/lib.sh; it is migrated with
`setup_platform` if needed, as ops/run does). It provisions a throwaway
organization, and for each scenario fills a fresh list with `--size` tasks
(ranks `--spacing` apart: by default tenant_apps.boards.ranking.GAP, what
appending leaves; 1024 is the spacing of lists made before the window
rebalancing), then creates `--inserts` tasks through services.task_create
(lock, placement, audit event, commit), one transaction each:

- front:  always at position 0
- middle: always at the same position, size // 2
- append: always at the end

and reports per insert the time and the task rows rewritten (renumbering:
rows whose version changed, tests.support.RewrittenTaskRows). Then it renders the board detail
(GET /boards/{id} without the cache) of a board holding those lists and
reports its size. The organization is dropped at the end.
"""

import argparse
import contextlib
import io
import json
import os
import statistics
import sys
import time
import uuid

from _common import django_setup, percentile


def _defaults() -> None:
    pg_port = os.environ.get("PG_PORT", "25432")
    redis_port = os.environ.get("REDIS_PORT", "25379")
    os.environ.setdefault("DATABASE_URL", f"postgres://taskhub:taskhub@127.0.0.1:{pg_port}/taskhub")
    os.environ.setdefault("REDIS_URL", f"redis://127.0.0.1:{redis_port}/0")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("SPARE_SCHEMA_POOL_SIZE", "0")  # no spare schemas left behind


def run_scenario(actor, board, name: str, size: int, inserts: int, spacing: int) -> dict:
    from tenant_apps.boards import services
    from tenant_apps.boards.models import Task
    from tests.support import RewrittenTaskRows  # (ROOT is on sys.path: _common)

    task_list = services.list_create(actor=actor, board=board, name=f"{name} ({size})")
    Task.objects.bulk_create(
        [
            Task(
                board_id=board.id,
                list_id=task_list.id,
                title=f"seed {i}",
                created_by=actor.user_id,
                rank=(i + 1) * spacing,
            )
            for i in range(size)
        ],
        batch_size=1000,
    )
    position = {"front": 0, "middle": size // 2, "append": None}[name]
    seconds, rows = [], []
    rewritten = RewrittenTaskRows(task_list.id)
    for i in range(inserts):
        t0 = time.perf_counter()
        services.task_create(
            actor=actor, task_list=task_list, title=f"{name} {i}", position=position
        )
        seconds.append(time.perf_counter() - t0)
        rows.append(rewritten.since_last())
    ms = [s * 1000 for s in seconds]
    return {
        "scenario": name,
        "list_size": size,
        "inserts": inserts,
        "rows_rewritten_total": sum(rows),
        "rows_rewritten_max": max(rows),
        "inserts_rewriting_any": sum(1 for r in rows if r),
        "inserts_rewriting_half_the_list": sum(1 for r in rows if r >= size // 2),
        "ms_mean": round(statistics.fmean(ms), 2),
        "ms_p50": round(percentile(ms, 50), 2),
        "ms_p99": round(percentile(ms, 99), 2),
        "ms_max": round(max(ms), 2),
        "seconds_total": round(sum(seconds), 2),
    }


def board_detail_figures(actor, size: int, description_bytes: int) -> dict:
    """GET /boards/{id}'s body for a board whose one list holds `size` tasks
    with descriptions of `description_bytes` (10,000 is the most the API takes)."""
    from tenant_apps.boards import services
    from tenant_apps.boards.models import Task
    from tenant_apps.boards.selectors import board_detail_json

    board = services.board_create(actor=actor, name="Board detail bench")
    task_list = services.list_create(actor=actor, board=board, name="Long list")
    description = ("lorem ipsum " * (description_bytes // 12 + 1))[:description_bytes]
    Task.objects.bulk_create(
        [
            Task(
                board_id=board.id,
                list_id=task_list.id,
                title=f"task {i}",
                description=description,
                created_by=actor.user_id,
                rank=(i + 1) * 1024,
            )
            for i in range(size)
        ],
        batch_size=200,
    )
    t0 = time.perf_counter()
    body = board_detail_json(actor, board.id)  # cold: the cache was never filled for it
    elapsed = time.perf_counter() - t0
    data = json.loads(body)
    return {
        "tasks_in_board": size,
        "description_bytes": description_bytes,
        "tasks_in_detail": sum(len(lst["tasks"]) for lst in data["lists"]),
        "bytes": len(body),
        "ms": round(elapsed * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--size", type=int, default=2000, help="tasks in the list before the inserts"
    )
    parser.add_argument("--inserts", type=int, default=500)
    parser.add_argument("--spacing", type=int, default=None, help="rank spacing of the seeded list")
    parser.add_argument("--scenarios", default="front,middle,append")
    parser.add_argument("--description-bytes", type=int, default=10000,
                        help="description size of the board-detail bench's tasks")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    options = parser.parse_args()
    _defaults()
    django_setup()

    from django.core.management import call_command
    from django.db import connection
    from django_tenants.utils import schema_context

    from platform_core.auth import Actor
    from provisioning.services import org_delete, org_drop_schema, org_provision
    from shared_apps.accounts.models import User
    from tenant_apps.boards import ranking, services

    with contextlib.redirect_stdout(io.StringIO()):  # keep stdout for the figures
        call_command("setup_platform", verbosity=0, stdout=io.StringIO())
    spacing = options.spacing or ranking.GAP
    tag = uuid.uuid4().hex[:8]
    owner = User.objects.create_user(
        email=f"bench-ranking-{tag}@example.com", password=uuid.uuid4().hex, name="Bench ranking"
    )
    org = org_provision(owner=owner, name="Bench ranking", slug=f"bench-rank-{tag}")
    actor = Actor(user_id=owner.id, email=owner.email, name=owner.name, org_id=org.id, role="owner")
    results = []
    try:
        with schema_context(org.schema_name):
            board = services.board_create(actor=actor, name="Ranking bench")
            for name in options.scenarios.split(","):
                print(
                    f"[bench] {name}: {options.inserts} inserts into {options.size} tasks",
                    file=sys.stderr,
                )
                results.append(
                    run_scenario(actor, board, name, options.size, options.inserts, spacing)
                )
            print(f"[bench] board detail: {options.size} tasks", file=sys.stderr)
            detail = board_detail_figures(actor, options.size, options.description_bytes)
    finally:
        connection.set_schema_to_public()
        org_delete(org=org, actor_id=owner.id, via="bench")
        org_drop_schema(org=org, actor_id=owner.id)
        owner.delete()

    report = {
        "gap": ranking.GAP,
        "seed_spacing": spacing,
        "scenarios": results,
        "board_detail": detail,
    }
    if options.json:
        print(json.dumps(report, indent=2))
        return
    print(f"rank GAP {ranking.GAP}, seeded list spacing {spacing}")
    columns = (
        "scenario", "list_size", "inserts", "rows_rewritten_total", "rows_rewritten_max",
        "inserts_rewriting_any", "inserts_rewriting_half_the_list", "ms_mean", "ms_p50", "ms_p99",
        "ms_max", "seconds_total",
    )  # fmt: skip
    print(" | ".join(columns))
    for row in results:
        print(" | ".join(str(row[c]) for c in columns))
    print(
        f"board detail: one list of {detail['tasks_in_board']} tasks ({detail['description_bytes']}-byte "
        f"descriptions), {detail['tasks_in_detail']} in the detail, {detail['bytes']:,} bytes, "
        f"built in {detail['ms']} ms"
    )


if __name__ == "__main__":
    main()
