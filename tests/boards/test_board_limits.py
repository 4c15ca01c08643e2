"""Bounded board detail and capped lists (issue 11, finding 9).

GET /boards/{id} used to carry every task of every list (a 2,000-task list
with long descriptions: 20 MB). It now carries at most
BOARD_DETAIL_TASKS_PER_LIST tasks per list, says how many each list holds
(`task_count`) and, when it left some out, where GET /tasks?list_id= goes on
(`tasks_next_cursor`). Creating a list on a full board, or a task in (or
moving one into) a full list, is 403 quota_exceeded.
"""

import threading
import uuid

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from platform_core.auth import Actor
from tests.boards.conftest import audit_events, in_org, seed_board

SEARCH_PATH = 1


def _fill(org_world, task_list, count: int, prefix: str = "task") -> None:
    from tenant_apps.boards.models import Task

    with in_org(org_world):
        Task.objects.bulk_create(
            [
                Task(
                    board_id=task_list.board_id,
                    list_id=task_list.id,
                    title=f"{prefix} {i:03d}",
                    created_by=org_world.owner.id,
                    rank=(i + 1) * 1024,
                )
                for i in range(count)
            ]
        )


@pytest.fixture
def long_board(world, lookalike):
    """A: a board whose first list holds 250 tasks and whose second holds 2."""
    seeded = seed_board(world.a, name="Long", lists=("Backlog", "Short"), tasks=0)
    _fill(world.a, seeded.lists[0], 250)
    _fill(world.a, seeded.lists[1], 2, prefix="short")
    return seeded


@pytest.mark.django_db
class TestBoardDetailBounded:
    def test_a_long_list_is_cut_and_the_rest_is_reachable(self, api, world, long_board, lookalike):
        client = api(world.a, world.a.member)
        r = client.get(f"/boards/{long_board.board.id}")
        assert r.status_code == 200, r.content
        backlog, short = r.json()["lists"]
        assert len(backlog["tasks"]) == 100
        assert [t["title"] for t in backlog["tasks"]] == [f"task {i:03d}" for i in range(100)]
        assert [t["position"] for t in backlog["tasks"]] == list(range(100))
        assert backlog["task_count"] == 250 and backlog["tasks_next_cursor"]
        assert short["task_count"] == 2 and short["tasks_next_cursor"] is None
        assert [t["title"] for t in short["tasks"]] == ["short 000", "short 001"]

        rest, cursor = [], backlog["tasks_next_cursor"]
        while cursor:
            page = client.get("/tasks", {"list_id": backlog["id"], "cursor": cursor, "limit": 60})
            assert page.status_code == 200, page.content
            rest += page.json()["items"]
            cursor = page.json()["next_cursor"]
        assert [t["title"] for t in rest] == [f"task {i:03d}" for i in range(100, 250)]
        assert [t["position"] for t in rest] == list(range(100, 250))

    def test_b_sees_nothing_of_it(self, api, world, long_board, lookalike):
        a_detail = api(world.a, world.a.owner).get(f"/boards/{long_board.board.id}").json()
        cursor = a_detail["lists"][0]["tasks_next_cursor"]
        b = api(world.b, world.b.owner)
        assert b.get(f"/boards/{long_board.board.id}").status_code == 404
        # A's cursor and list id on B's host: B's schema has no such list.
        page = b.get("/tasks", {"list_id": a_detail["lists"][0]["id"], "cursor": cursor})
        assert page.status_code == 200 and page.json()["items"] == []
        # B's own board is whole and counted on its own.
        b_lists = b.get(f"/boards/{lookalike.board.id}").json()["lists"]
        assert [
            (lst["task_count"], lst["tasks_next_cursor"], len(lst["tasks"])) for lst in b_lists
        ] == [(3, None, 3)] * 3

    def test_the_limit_is_a_setting(self, api, world, long_board, settings):
        settings.BOARD_DETAIL_TASKS_PER_LIST = 10
        client = api(world.a, world.a.member)
        backlog = client.get(f"/boards/{long_board.board.id}").json()["lists"][0]
        assert len(backlog["tasks"]) == 10 and backlog["task_count"] == 250
        page = client.get(
            "/tasks", {"list_id": backlog["id"], "cursor": backlog["tasks_next_cursor"]}
        )
        assert page.json()["items"][0]["title"] == "task 010"

    def test_cost_is_two_queries(self, api, world, long_board, django_assert_num_queries):
        client = api(world.a, world.a.member)
        client.get(f"/boards/{long_board.board.id}")  # warms host, user, session, role
        with django_assert_num_queries(SEARCH_PATH + 2):  # board with lists and counts, first tasks
            r = client.get(f"/boards/{long_board.board.id}")
        assert sum(len(lst["tasks"]) for lst in r.json()["lists"]) == 102

    def test_schema_documents_the_fields(self, api, world):
        schema = api(world.a).get("/api/v1/openapi.json").json()
        props = schema["components"]["schemas"]["BoardListOut"]["properties"]
        assert {"task_count", "tasks_next_cursor", "tasks"} <= set(props)


@pytest.mark.django_db
class TestCaps:
    def test_full_list_refuses_new_tasks_and_moves_in(self, api, world, lookalike, settings):
        settings.MAX_TASKS_PER_LIST = 4
        seeded = seed_board(world.a, name="Capped", lists=("Full", "Other"), tasks=0)
        full, other = (str(lst.id) for lst in seeded.lists)
        client = api(world.a, world.a.owner)
        for i in range(4):
            assert client.post("/tasks", {"list_id": full, "title": f"t{i}"}).status_code == 201
        r = client.post("/tasks", {"list_id": full, "title": "one too many"})
        assert r.status_code == 403, r.content
        assert r.json()["code"] == "quota_exceeded" and "4" in r.json()["detail"]
        outsider = client.post("/tasks", {"list_id": other, "title": "elsewhere"}).json()
        r = client.post(f"/tasks/{outsider['id']}/move", {"list_id": full, "position": 0})
        assert r.status_code == 403 and r.json()["code"] == "quota_exceeded"
        assert audit_events(world.a, target_id=outsider["id"], action="task.moved") == []
        # moving within the full list adds nothing: allowed
        first = client.get("/tasks", {"list_id": full}).json()["items"][0]
        r = client.post(f"/tasks/{first['id']}/move", {"list_id": full, "position": 3})
        assert r.status_code == 200 and r.json()["position"] == 3
        with in_org(world.a):
            from tenant_apps.boards.models import Task

            assert Task.objects.filter(list_id=full).count() == 4
        # B's list with 3 tasks is not full
        b_list = str(lookalike.lists[0].id)
        assert (
            api(world.b, world.b.owner)
            .post("/tasks", {"list_id": b_list, "title": "b"})
            .status_code
            == 201
        )

    def test_full_board_refuses_new_lists(self, api, world, lookalike, settings):
        settings.MAX_LISTS_PER_BOARD = 3
        seeded = seed_board(world.a, name="Capped", lists=("a", "b"), tasks=0)
        client = api(world.a, world.a.owner)
        assert client.post(f"/boards/{seeded.board.id}/lists", {"name": "c"}).status_code == 201
        r = client.post(f"/boards/{seeded.board.id}/lists", {"name": "d", "position": 0})
        assert r.status_code == 403 and r.json()["code"] == "quota_exceeded", r.content
        assert "3" in r.json()["detail"]
        names = [lst["name"] for lst in client.get(f"/boards/{seeded.board.id}").json()["lists"]]
        assert names == ["a", "b", "c"]
        # B's look-alike board (3 lists) is counted on its own
        settings.MAX_LISTS_PER_BOARD = 4
        b = api(world.b, world.b.owner)
        assert b.post(f"/boards/{lookalike.board.id}/lists", {"name": "d"}).status_code == 201


def _actor(org_world) -> Actor:
    owner = org_world.owner
    return Actor(
        user_id=owner.id, email=owner.email, name=owner.name, org_id=org_world.org.id, role="owner"
    )


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_never_overshoot_the_cap(world, settings):
    """Twelve creates at once into a list with room for three: exactly three win."""
    from platform_core.errors import Forbidden
    from tenant_apps.boards import services
    from tenant_apps.boards.models import Board, Task

    settings.MAX_TASKS_PER_LIST = 5
    seeded = seed_board(world.a, name=f"Race {uuid.uuid4().hex[:6]}", lists=("Target",), tasks=2)
    target = seeded.lists[0]
    actor = _actor(world.a)
    barrier = threading.Barrier(12)
    outcomes: list = []

    def create(i: int) -> None:
        try:
            with schema_context(world.a.org.schema_name):
                barrier.wait(timeout=10)
                services.task_create(actor=actor, task_list=target, title=f"race {i}", position=1)
                outcomes.append("created")
        except Forbidden as exc:
            outcomes.append(exc.code)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert sorted(outcomes) == ["created"] * 3 + ["quota_exceeded"] * 9
        with in_org(world.a):
            assert Task.objects.filter(list_id=target.id).count() == 5
    finally:
        with in_org(world.a):
            Board.objects.filter(id=seeded.board.id).delete()
