"""cacheops on tenant tables: per-schema keys, invalidation on every write path,
and warm reads that run no SQL. Transactional: cacheops skips caching inside
a test's wrapping transaction."""

import pytest
from django.conf import settings

from tests.support import board_through_api as _board

pytestmark = pytest.mark.django_db(transaction=True)


def test_only_tenant_tables_are_cached():
    assert settings.CACHEOPS, "cacheops must be configured"
    assert all(label.split(".")[0] in {"boards"} for label in settings.CACHEOPS)


def test_warm_board_detail_runs_no_sql(api, world, django_assert_num_queries):
    client = api(world.a, world.a.member)
    owner = api(world.a, world.a.owner)
    board, _ = _board(owner, lists=10, tasks=5)
    cold = client.get(f"/boards/{board['id']}")
    assert cold.status_code == 200
    with django_assert_num_queries(0):
        warm = client.get(f"/boards/{board['id']}")
    assert warm.json() == cold.json()


def test_lookalike_data_in_two_orgs_never_shares_cache(api, world):
    a_board, _ = _board(api(world.a, world.a.owner), name="Same name")
    b_board, _ = _board(api(world.b, world.b.owner), name="Same name")
    for _ in range(2):  # cold, then warm: identical SQL text in both schemas
        a_ids = {b["id"] for b in api(world.a, world.a.member).get("/boards", {"limit": 200}).json()["items"]}
        b_ids = {b["id"] for b in api(world.b, world.b.member).get("/boards", {"limit": 200}).json()["items"]}
        assert a_board["id"] in a_ids and a_board["id"] not in b_ids
        assert b_board["id"] in b_ids and b_board["id"] not in a_ids
        a_tasks = api(world.a, world.a.member).get("/tasks", {"limit": 200, "q": "Task 0.0"}).json()["items"]
        b_tasks = api(world.b, world.b.member).get("/tasks", {"limit": 200, "q": "Task 0.0"}).json()["items"]
        assert {t["board_id"] for t in a_tasks}.isdisjoint({t["board_id"] for t in b_tasks})


def test_write_in_one_org_does_not_invalidate_the_other(api, world, django_assert_num_queries):
    b_board, _ = _board(api(world.b, world.b.owner))
    reader = api(world.b, world.b.member)
    reader.get(f"/boards/{b_board['id']}")
    a_board, a_lists = _board(api(world.a, world.a.owner))
    api(world.a, world.a.owner).patch(f"/boards/{a_board['id']}", {"name": "Renamed in A"})
    with django_assert_num_queries(0):  # B's entries survived A's writes
        assert reader.get(f"/boards/{b_board['id']}").json()["name"] == "Roadmap"


def _detail(client, board_id):
    return client.get(f"/boards/{board_id}").json()


def _titles(detail):
    return [[t["title"] for t in lst["tasks"]] for lst in detail["lists"]]


MUTATIONS = {
    "board.updated": lambda c, b, ls, w: c.patch(f"/boards/{b['id']}", {"name": "New name"}),
    "list.created": lambda c, b, ls, w: c.post(f"/boards/{b['id']}/lists", {"name": "Extra"}),
    "list.renamed": lambda c, b, ls, w: c.patch(f"/lists/{ls[0]['id']}", {"name": "Renamed"}),
    "list.reordered": lambda c, b, ls, w: c.patch(f"/lists/{ls[1]['id']}", {"position": 0}),
    "list.deleted": lambda c, b, ls, w: c.delete(f"/lists/{ls[0]['id']}"),
    "task.created": lambda c, b, ls, w: c.post("/tasks", {"list_id": ls[0]["id"], "title": "Fresh", "position": 0}),
    "task.updated": lambda c, b, ls, w: c.patch(f"/tasks/{ls[0]['tasks'][0]['id']}", {"title": "Edited"}),
    "task.assigned": lambda c, b, ls, w: c.post(
        f"/tasks/{ls[0]['tasks'][0]['id']}/assign", {"assignee_id": str(w.a.member.id)}
    ),
    "task.completed": lambda c, b, ls, w: c.post(f"/tasks/{ls[0]['tasks'][0]['id']}/complete"),
    "task.moved": lambda c, b, ls, w: c.post(
        f"/tasks/{ls[0]['tasks'][0]['id']}/move", {"list_id": ls[1]["id"], "position": 0}
    ),
    "task.moved_within": lambda c, b, ls, w: c.post(
        f"/tasks/{ls[0]['tasks'][2]['id']}/move", {"list_id": ls[0]["id"], "position": 0}
    ),
    "task.deleted": lambda c, b, ls, w: c.delete(f"/tasks/{ls[0]['tasks'][1]['id']}"),
    "board.deleted": lambda c, b, ls, w: c.delete(f"/boards/{b['id']}"),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_every_mutation_invalidates_board_detail(api, world, mutation):
    owner = api(world.a, world.a.owner)
    reader = api(world.a, world.a.member)
    board, lists = _board(owner)
    before = _detail(reader, board["id"])
    assert _detail(reader, board["id"]) == before  # warm
    response = MUTATIONS[mutation](owner, board, lists, world)
    assert response.status_code in (200, 201, 204), response.content
    after = reader.get(f"/boards/{board['id']}")
    if mutation == "board.deleted":
        assert after.status_code == 404
        return
    fresh = after.json()
    assert fresh != before, f"{mutation}: stale board detail served from cache"
    # and the cached answer equals what the database says now
    from cacheops import invalidate_all

    invalidate_all()
    assert _detail(reader, board["id"]) == fresh


def test_task_reads_follow_writes(api, world):
    owner = api(world.a, world.a.owner)
    _, lists = _board(owner)
    task = lists[0]["tasks"][0]
    assert api(world.a, world.a.member).get(f"/tasks/{task['id']}").json()["status"] == "open"
    owner.post(f"/tasks/{task['id']}/complete")
    assert api(world.a, world.a.member).get(f"/tasks/{task['id']}").json()["status"] == "done"
    done = api(world.a, world.a.member).get("/tasks", {"status": "done", "board_id": task["board_id"]}).json()
    assert [t["id"] for t in done["items"]] == [task["id"]]


def test_comment_writes_invalidate_comment_list(api, world):
    owner = api(world.a, world.a.owner)
    _, lists = _board(owner, lists=1, tasks=1)
    task_id = lists[0]["tasks"][0]["id"]
    reader = api(world.a, world.a.member)
    assert reader.get(f"/tasks/{task_id}/comments").json()["items"] == []
    comment = owner.post(f"/tasks/{task_id}/comments", {"body": "first"}).json()
    assert [c["body"] for c in reader.get(f"/tasks/{task_id}/comments").json()["items"]] == ["first"]
    owner.patch(f"/comments/{comment['id']}", {"body": "edited"})
    assert [c["body"] for c in reader.get(f"/tasks/{task_id}/comments").json()["items"]] == ["edited"]
    owner.delete(f"/comments/{comment['id']}")
    assert reader.get(f"/tasks/{task_id}/comments").json()["items"] == []


def test_service_call_from_a_job_invalidates_that_tenant(api, world):
    """A write outside a request (a job inside its schema) invalidates too."""
    from django_tenants.utils import schema_context

    from platform_core.auth import Actor
    from tenant_apps.boards.models import Board
    from tenant_apps.boards.services import board_update

    owner = api(world.a, world.a.owner)
    board, _ = _board(owner, lists=0, tasks=0)
    assert _detail(owner, board["id"])["name"] == "Roadmap"
    actor = Actor(user_id=world.a.owner.id, email="", name="", org_id=world.a.org.id, role="owner")
    with schema_context(world.a.org.schema_name):
        board_update(actor=actor, board=Board.objects.get(id=board["id"]), name="Changed by a job")
    assert _detail(owner, board["id"])["name"] == "Changed by a job"


def test_renumbering_a_list_invalidates(api, world):
    """Inserting repeatedly at index 1 halves the rank gap each time (1024 ->
    < 1 within 11 inserts), forcing a renumbering (a bulk update, which sends
    no signals): cached positions and details still follow."""
    from cacheops import invalidate_all

    owner = api(world.a, world.a.owner)
    board, lists = _board(owner, lists=1, tasks=2)
    for i in range(14):
        owner.post("/tasks", {"list_id": lists[0]["id"], "title": f"Front {i}", "position": 1})
        assert _titles(_detail(owner, board["id"]))[0][:2] == ["Task 0.0", f"Front {i}"]
        last = lists[0]["tasks"][1]
        assert owner.get(f"/tasks/{last['id']}").json()["position"] == i + 2
    cached = _detail(owner, board["id"])
    invalidate_all()
    assert _detail(owner, board["id"]) == cached
