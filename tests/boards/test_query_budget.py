"""Read endpoints cost a fixed number of SQL queries, whatever the number of rows.

Counts are for a warm request: host, user, session and role come from Redis
(the first request of a test fills it). Every request switches the
connection to the organization's schema: one `SET search_path`.
"""

import pytest
from model_bakery import baker

from tests.boards.conftest import in_org, seed_board

pytestmark = pytest.mark.django_db

SEARCH_PATH = 1


@pytest.fixture
def big_board(world, lookalike):
    """10 lists × 50 tasks, with comments on one task."""
    seeded = seed_board(world.a, name="Big", lists=[f"List {i}" for i in range(10)], tasks=0)
    with in_org(world.a):
        for task_list in seeded.lists:
            baker.make_recipe(
                "boards.task",
                board=seeded.board,
                list=task_list,
                assignee_id=world.a.member.id,
                created_by=world.a.owner.id,
                _quantity=50,
                _bulk_create=True,
            )
        first = task_list.tasks.first()
        baker.make_recipe(
            "boards.comment",
            task=first,
            author_id=world.a.member.id,
            _quantity=30,
            _bulk_create=True,
        )
    seeded.first_task = first
    return seeded


@pytest.fixture
def empty_board(world, lookalike):
    seeded = seed_board(world.a, name="Empty", lists=(), tasks=0)
    return seeded


@pytest.fixture
def lonely_task(world):
    return seed_board(world.a, name="Lonely", lists=("One",), tasks=1).tasks[0][0]


def _warm(client, path, params=None):
    response = client.get(path, params or {})
    assert response.status_code == 200, response.content
    return response


@pytest.mark.parametrize("which", ["big_board", "empty_board"])
def test_board_detail(api, world, request, django_assert_num_queries, which):
    board = request.getfixturevalue(which)
    client = api(world.a, world.a.member)
    _warm(client, f"/boards/{board.board.id}")
    # the board with its lists (one row for an empty board), then their tasks (none if no list)
    with django_assert_num_queries(SEARCH_PATH + (2 if which == "big_board" else 1)):
        r = client.get(f"/boards/{board.board.id}")
    lists = r.json()["lists"]
    assert len(lists) == (10 if which == "big_board" else 0)
    assert sum(len(lst["tasks"]) for lst in lists) == (500 if which == "big_board" else 0)


@pytest.mark.parametrize("which", ["big_board", "empty_board"])
def test_task_list(api, world, request, django_assert_num_queries, which):
    board = request.getfixturevalue(which)
    client = api(world.a, world.a.member)
    for ordering in ("position", "due_at", "-created_at", "priority"):
        params = {
            "board_id": str(board.board.id),
            "assignee_id": "me",
            "q": "task",
            "ordering": ordering,
            "limit": 200,
        }
        _warm(client, "/tasks", params)
        with django_assert_num_queries(SEARCH_PATH + 1):  # the page, positions included
            r = client.get("/tasks", params)
        assert len(r.json()["items"]) == (200 if which == "big_board" else 0)


@pytest.mark.parametrize("which", ["big_board", "empty_board"])
def test_board_list(api, world, request, django_assert_num_queries, which):
    request.getfixturevalue(which)
    client = api(world.a, world.a.member)
    _warm(client, "/boards")
    with django_assert_num_queries(SEARCH_PATH + 1):
        client.get("/boards", {"limit": 200})


def test_comment_list(api, world, big_board, lonely_task, django_assert_num_queries):
    client = api(world.a, world.a.member)
    for task, expected in ((big_board.first_task, 30), (lonely_task, 0)):
        _warm(client, f"/tasks/{task.id}/comments")
        with django_assert_num_queries(SEARCH_PATH + 2):  # the task (access), the page
            r = client.get(f"/tasks/{task.id}/comments", {"limit": 200})
        assert len(r.json()["items"]) == expected


def test_task_detail(api, world, big_board, lonely_task, django_assert_num_queries):
    client = api(world.a, world.a.member)
    for task in (big_board.first_task, lonely_task):
        _warm(client, f"/tasks/{task.id}")
        with django_assert_num_queries(SEARCH_PATH + 1):  # the task with its position
            client.get(f"/tasks/{task.id}")


def test_foreign_board_costs_the_same_and_reveals_nothing(
    api, world, big_board, lookalike, django_assert_num_queries
):
    client = api(world.a, world.a.member)
    _warm(client, f"/boards/{big_board.board.id}")
    with django_assert_num_queries(SEARCH_PATH + 1):  # the board lookup finds nothing
        r = client.get(f"/boards/{lookalike.board.id}")
    assert r.status_code == 404


# --- writes: a fixed number of statements, none through the query cache -------------
# Inside the test's transaction each service's atomic block is a SAVEPOINT and a RELEASE.
SAVEPOINT = 2


def _statements(ctx) -> list[str]:
    return [" ".join(q["sql"].split()) for q in ctx.captured_queries]


def test_task_create_is_a_lock_and_one_statement(api, world, lonely_task, lookalike):
    """POST /tasks: the list locked (its one read: no access read before it), then
    one statement that places the task, inserts it and its audit event."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api(world.a, world.a.member)
    list_id = str(lonely_task.list_id)
    assert client.post("/tasks", {"list_id": list_id, "title": "warm"}).status_code == 201
    with CaptureQueriesContext(connection) as ctx:
        r = client.post("/tasks", {"list_id": list_id, "title": "counted", "position": 0})
    assert r.status_code == 201, r.content
    assert r.json()["position"] == 0
    statements = _statements(ctx)
    assert len(statements) == SEARCH_PATH + SAVEPOINT + 2, statements
    lock, insert = statements[2], statements[3]
    assert lock.startswith('SELECT "id", "board_id"') and lock.endswith("FOR UPDATE")
    assert 'INSERT INTO "boards_task"' in insert and 'INSERT INTO "audit_auditevent"' in insert
    # B's look-alike list has the same shape and nothing changed there
    r = api(world.b, world.b.owner).get("/tasks", {"list_id": str(lookalike.lists[0].id)})
    assert [t["title"] for t in r.json()["items"]] == ["To do #0", "To do #1", "To do #2"]


def test_task_move_is_two_locks_and_one_statement(api, world, lookalike):
    """POST /tasks/{id}/move: both lists locked, the task locked (its one read),
    then one statement that places it, updates it and inserts its audit event."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    seeded = seed_board(world.a, name="Moves", lists=("One", "Two"), tasks=3)
    task = seeded.tasks[0][0]
    client = api(world.a, world.a.owner)
    to_two = {"list_id": str(seeded.lists[1].id), "position": 1}
    assert client.post(f"/tasks/{seeded.tasks[0][1].id}/move", to_two).status_code == 200
    with CaptureQueriesContext(connection) as ctx:
        r = client.post(f"/tasks/{task.id}/move", to_two)
    assert r.status_code == 200, r.content
    assert (r.json()["list_id"], r.json()["position"]) == (to_two["list_id"], 1)
    statements = _statements(ctx)
    assert len(statements) == SEARCH_PATH + SAVEPOINT + 3, statements
    lists, locked_task, update = statements[2:5]
    assert 'FROM "boards_tasklist"' in lists and lists.endswith("FOR UPDATE")
    assert 'FROM "boards_task" t' in locked_task and locked_task.endswith("FOR UPDATE OF t")
    assert 'UPDATE "boards_task"' in update and 'INSERT INTO "audit_auditevent"' in update
    r = api(world.b, world.b.owner).get("/tasks", {"list_id": str(lookalike.lists[1].id)})
    assert [t["title"] for t in r.json()["items"]] == ["Doing #0", "Doing #1", "Doing #2"]


def test_task_update_is_a_lock_and_one_statement(api, world, lonely_task, lookalike):
    """PATCH /tasks/{id}: the task locked (its one read, authorized on it), then one
    statement that updates it and inserts its audit event (no pre-save read)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api(world.a, world.a.owner)
    assert client.patch(f"/tasks/{lonely_task.id}", {"title": "warm"}).status_code == 200
    with CaptureQueriesContext(connection) as ctx:
        r = client.patch(f"/tasks/{lonely_task.id}", {"title": "counted"})
    assert r.status_code == 200 and r.json()["title"] == "counted", r.content
    statements = _statements(ctx)
    assert len(statements) == SEARCH_PATH + SAVEPOINT + 2, statements
    assert statements[2].endswith("FOR UPDATE OF t")
    assert 'UPDATE "boards_task"' in statements[3] and 'INSERT INTO "audit_auditevent"' in statements[3]
    r = api(world.b, world.b.owner).get("/tasks", {"list_id": str(lookalike.lists[0].id)})
    assert "counted" not in [t["title"] for t in r.json()["items"]]
