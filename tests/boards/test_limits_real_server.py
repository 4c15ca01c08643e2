"""Issue 11, finding 9 against a real server (granian, PostgreSQL, Redis of the
proof harness, production settings): the 2,000-task list.

- Its board detail was 20 MB (2,000 tasks with 10,000-character
  descriptions); it now holds the first BOARD_DETAIL_TASKS_PER_LIST (100)
  tasks, `task_count` 2,000 and a cursor from which GET /tasks reads the rest.
- 200 inserts at one middle position renumbered the whole list every ~11
  inserts (every one of the 2,000 rows rewritten, ~1 s); now the seeded rows
  keep their ranks but for a few neighbours.

Organization B, with a look-alike board, sees none of it and is not touched.
"""

import json
import statistics
import time
from types import SimpleNamespace

import pytest

from proof.harness import Redis, Server, app_env, django_run, golden_cluster, http, log, seed_orgs

pytestmark = pytest.mark.slow

SIZE, INSERTS, DESCRIPTION = 2000, 200, 10_000

SEED = r"""
from django_tenants.utils import schema_context
from tenant_apps.boards.models import Board, Task, TaskList
from tenant_apps.boards.ranking import GAP

with schema_context(SCHEMA):
    board = Board.objects.create(name="Long board", created_by=OWNER)
    long = TaskList.objects.create(board=board, name="Long", rank=GAP)
    Task.objects.bulk_create(
        [Task(board=board, list=long, title=f"{PREFIX} {i:04d}", description="d" * DESCRIPTION,
              created_by=OWNER, rank=(i + 1) * GAP) for i in range(SIZE)],
        batch_size=200,
    )
result = {"board": str(board.id), "list": str(long.id)}
"""


@pytest.fixture(scope="module")
def stack():
    golden = golden_cluster()
    pg, redis, server = golden.clone(), Redis(appendonly=False), None
    try:
        pg.start()
        redis.start()
        env = app_env(pg.url(), redis.url())
        orgs = seed_orgs(env, ["limits-a", "limits-b"], roles=[])
        boards = []
        for org, size in zip(orgs, (SIZE, 3), strict=True):
            code = (
                f"SCHEMA = {org['schema']!r}\nOWNER = {org['users'][0]['id']!r}\nSIZE = {size}\n"
                f"DESCRIPTION = {DESCRIPTION}\nPREFIX = {org['slug']!r}\n" + SEED
            )
            boards.append(django_run(code, env))
        server = Server(env, workers=1).start()
        yield SimpleNamespace(pg=pg, url=server.url, orgs=orgs, boards=boards)
    finally:
        if server is not None:
            server.stop()
            if server.log_path.exists():
                server.log_path.unlink()
        redis.destroy()
        pg.destroy()
        golden.destroy()


def _get(stack, org, path):
    status, _, body = http(
        stack.url, "GET", path, host=org["host"], token=org["users"][0]["token"], timeout=120
    )
    return status, body


def _ranks(stack, org, list_id) -> dict:
    rows = stack.pg.sql(
        f'SELECT id, rank FROM "{org["schema"]}".boards_task WHERE list_id = %s', params=[list_id]
    )
    return dict(rows)


def test_board_detail_of_a_2000_task_list_is_bounded(stack):
    a, b = stack.orgs
    board_a, board_b = stack.boards
    status, detail = _get(stack, a, f"/boards/{board_a['board']}")
    assert status == 200, detail
    size = len(json.dumps(detail))
    log(f"board detail of a {SIZE}-task list: {size:,} bytes")
    (long,) = detail["lists"]
    assert len(long["tasks"]) == 100 and long["task_count"] == SIZE
    assert size < 1_200_000  # 100 tasks of ~10 kB; it was ~20 MB
    seen, cursor = [t["title"] for t in long["tasks"]], long["tasks_next_cursor"]
    while cursor:
        status, page = _get(stack, a, f"/tasks?list_id={long['id']}&limit=200&cursor={cursor}")
        assert status == 200, page
        seen += [t["title"] for t in page["items"]]
        cursor = page["next_cursor"]
    assert seen == [f"limits-a {i:04d}" for i in range(SIZE)]
    # B: its own small board, whole; A's board is not there.
    status, b_detail = _get(stack, b, f"/boards/{board_b['board']}")
    assert [
        (lst["task_count"], len(lst["tasks"]), lst["tasks_next_cursor"])
        for lst in b_detail["lists"]
    ] == [(3, 3, None)]
    assert "limits-a" not in json.dumps(b_detail)
    assert _get(stack, b, f"/boards/{board_a['board']}")[0] == 404


def test_inserts_at_one_middle_position_do_not_renumber_the_list(stack):
    a, b = stack.orgs
    board_a, board_b = stack.boards
    before = _ranks(stack, a, board_a["list"])
    b_before = _ranks(stack, b, board_b["list"])
    seconds = []
    for i in range(INSERTS):
        t0 = time.monotonic()
        status, _, task = http(
            stack.url, "POST", "/tasks", host=a["host"], token=a["users"][0]["token"],
            body={"list_id": board_a["list"], "title": f"wedge {i}", "position": SIZE // 2},
        )  # fmt: skip
        seconds.append(time.monotonic() - t0)
        assert status == 201 and task["position"] == SIZE // 2, task
    after = _ranks(stack, a, board_a["list"])
    moved = sum(1 for task_id, rank in before.items() if after[task_id] != rank)
    log(
        f"{INSERTS} inserts at position {SIZE // 2} of {SIZE}: {moved} seeded rows re-ranked; "
        f"per insert p50 {statistics.median(seconds) * 1000:.0f} ms, max {max(seconds) * 1000:.0f} ms"
    )
    assert moved < SIZE * 5 // 100  # renumbering the list every ~11 inserts re-ranked all of them
    ordered = sorted(after, key=after.get)
    titles = dict(stack.pg.sql(f'SELECT id, title FROM "{a["schema"]}".boards_task'))
    wedge = [titles[task_id] for task_id in ordered[SIZE // 2 : SIZE // 2 + INSERTS]]
    assert wedge == [f"wedge {i}" for i in reversed(range(INSERTS))]
    assert _ranks(stack, b, board_b["list"]) == b_before
