"""GET /tasks: every filter and ordering of API.md, keyset pagination under concurrent change."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from model_bakery import baker

from tests.boards.conftest import in_org, seed_board

pytestmark = pytest.mark.django_db

T0 = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture
def tasks(world, lookalike):
    """Board A: lists Backlog, Doing; a second board with one list. Tasks by name."""
    main = seed_board(world.a, name="Roadmap", lists=("Backlog", "Doing"), tasks=0)
    side = seed_board(world.a, name="Side", lists=("Misc",), tasks=0)
    backlog, doing, misc = main.lists[0], main.lists[1], side.lists[0]
    me, admin = world.a.member.id, world.a.admin.id
    specs = [
        # name, list, priority, status, assignee, due (days from T0), description
        ("alpha", backlog, "low", "open", me, 3, "Parser work"),
        ("bravo", backlog, "urgent", "open", admin, None, ""),
        ("charlie", backlog, "medium", "done", me, 1, "needs a PARSER"),
        ("delta", doing, "high", "open", None, 2, ""),
        ("echo", doing, "urgent", "done", me, None, "Write docs"),
        ("foxtrot", misc, "medium", "open", admin, 5, ""),
        ("golf", misc, "high", "open", me, 4, ""),
    ]
    made = {}
    with in_org(world.a):
        for i, (name, task_list, priority, status, assignee, due, description) in enumerate(specs):
            made[name] = baker.make_recipe(
                "boards.task",
                board=task_list.board,
                list=task_list,
                title=f"Task {name.upper()}",
                description=description,
                priority=priority,
                status=status,
                assignee_id=assignee,
                due_at=T0 + timedelta(days=due) if due is not None else None,
                created_at=T0 + timedelta(minutes=i),
                created_by=world.a.owner.id,
            )
    # B holds tasks with the same titles, assignees-like data and positions.
    with in_org(world.b):
        for i, (name, *_rest) in enumerate(specs):
            baker.make_recipe(
                "boards.task",
                list=lookalike.lists[0],
                title=f"Task {name.upper()}",
                description="parser",
                created_at=T0 + timedelta(minutes=i),
                priority="urgent",
                created_by=world.b.owner.id,
            )
    made["_main"], made["_side"] = main, side
    return made


def _names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["title"].removeprefix("Task ").lower() for item in response.json()["items"]]


def _get(api, world, **params):
    return api(world.a, world.a.member).get("/tasks", {k: str(v) for k, v in params.items()})


def test_default_ordering_is_board_then_list_then_position(api, world, tasks):
    names = _names(_get(api, world, board_id=tasks["_main"].board.id))
    assert names == ["alpha", "bravo", "charlie", "delta", "echo"]
    r = _get(api, world, list_id=tasks["_main"].lists[1].id)
    assert _names(r) == ["delta", "echo"]
    assert [item["position"] for item in r.json()["items"]] == [0, 1]


def test_unfiltered_lists_only_this_orgs_tasks(api, world, tasks):
    r = _get(api, world, limit=200)
    ids = {item["id"] for item in r.json()["items"]}
    assert ids == {str(t.id) for name, t in tasks.items() if not name.startswith("_")}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "done"}, {"charlie", "echo"}),
        ({"status": "open"}, {"alpha", "bravo", "delta", "foxtrot", "golf"}),
        ({"priority": "urgent"}, {"bravo", "echo"}),
        ({"priority": "high", "status": "open"}, {"delta", "golf"}),
        ({"q": "parser"}, {"alpha", "charlie"}),  # description, any case
        ({"q": "ECHO"}, {"echo"}),  # title, any case
        ({"q": "nothing like it"}, set()),
        ({"due_before": T0 + timedelta(days=3)}, {"charlie", "delta"}),  # exclusive
        ({"due_after": T0 + timedelta(days=4)}, {"foxtrot", "golf"}),  # inclusive
        (
            {"due_after": T0 + timedelta(days=2), "due_before": T0 + timedelta(days=4)},
            {"alpha", "delta"},
        ),
    ],
)
def test_filters(api, world, tasks, params, expected):
    assert set(_names(_get(api, world, **params))) == expected


def test_filter_by_board_and_list(api, world, tasks):
    assert set(_names(_get(api, world, board_id=tasks["_side"].board.id))) == {"foxtrot", "golf"}
    assert set(_names(_get(api, world, list_id=tasks["_main"].lists[0].id))) == {
        "alpha",
        "bravo",
        "charlie",
    }
    assert _names(_get(api, world, board_id=uuid.uuid4())) == []


def test_filter_by_assignee_and_me(api, world, tasks):
    mine = {"alpha", "charlie", "echo", "golf"}
    assert set(_names(_get(api, world, assignee_id="me"))) == mine
    assert set(_names(_get(api, world, assignee_id=world.a.member.id))) == mine
    assert set(_names(_get(api, world, assignee_id=world.a.admin.id))) == {"bravo", "foxtrot"}
    r = api(world.a, world.a.admin).get("/tasks", {"assignee_id": "me", "status": "open"})
    assert set(_names(r)) == {"bravo", "foxtrot"}


def test_other_orgs_ids_filter_to_nothing(api, world, tasks, lookalike):
    assert _names(_get(api, world, board_id=lookalike.board.id)) == []
    assert _names(_get(api, world, list_id=lookalike.lists[0].id)) == []
    assert _names(_get(api, world, assignee_id=world.b.owner.id)) == []


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        # soonest first; the undated two last, between themselves in id order
        ("due_at", ["charlie", "delta", "alpha", "golf", "foxtrot", {"bravo", "echo"}]),
        ("-created_at", ["golf", "foxtrot", "echo", "delta", "charlie", "bravo", "alpha"]),
        # urgent first, then oldest first
        ("priority", ["bravo", "echo", "delta", "golf", "charlie", "foxtrot", "alpha"]),
    ],
)
def test_orderings(api, world, tasks, ordering, expected):
    names = _names(_get(api, world, ordering=ordering))
    if isinstance(expected[-1], set):
        tied = len(expected[-1])
        assert names[:-tied] == expected[:-1] and set(names[-tied:]) == expected[-1]
    else:
        assert names == expected


@pytest.mark.parametrize("ordering", ["position", "due_at", "-created_at", "priority"])
def test_pages_concatenate_to_the_full_list(api, world, tasks, ordering):
    full = _names(_get(api, world, ordering=ordering))
    assert len(full) == 7
    seen, cursor = [], None
    while True:
        params = {"ordering": ordering, "limit": 2, **({"cursor": cursor} if cursor else {})}
        r = _get(api, world, **params)
        seen += _names(r)
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    assert seen == full


@pytest.mark.parametrize("ordering", ["position", "due_at", "-created_at", "priority"])
def test_pagination_survives_inserts_and_deletes_between_pages(api, world, tasks, ordering):
    """No task that exists throughout is skipped or repeated when others come and go."""
    from tenant_apps.boards.models import Task

    client = api(world.a, world.a.owner)
    r = client.get("/tasks", {"ordering": ordering, "limit": 3})
    first = [item["id"] for item in r.json()["items"]]
    cursor = r.json()["next_cursor"]
    all_before = {
        item["id"]
        for item in client.get("/tasks", {"ordering": ordering, "limit": 200}).json()["items"]
    }

    # Between pages: delete one seen and one unseen task, add tasks everywhere.
    unseen = sorted(all_before - set(first))
    gone = {first[0], unseen[0]}
    with in_org(world.a):
        Task.objects.filter(id__in=gone).delete()
    for task_list in (*tasks["_main"].lists, *tasks["_side"].lists):
        for position in (0, 1, None):
            body = {
                "list_id": str(task_list.id),
                "title": "Newcomer",
                "priority": "urgent",
                "due_at": (T0 + timedelta(days=2, hours=1)).isoformat(),
            }
            if position is not None:
                body["position"] = position
            assert client.post("/tasks", body).status_code == 201

    rest = []
    while cursor:
        r = client.get("/tasks", {"ordering": ordering, "limit": 3, "cursor": cursor})
        assert r.status_code == 200, r.content
        rest += [item["id"] for item in r.json()["items"]]
        cursor = r.json()["next_cursor"]
    seen = first + rest
    assert len(seen) == len(set(seen)), "a task was repeated"
    survivors = all_before - gone
    assert survivors <= set(seen), "a task was skipped"


@pytest.mark.parametrize(
    "params",
    [
        {"ordering": "title"},
        {"status": "closed"},
        {"priority": "critical"},
        {"assignee_id": "someone"},
        {"board_id": "not-a-uuid"},
        {"due_before": "soon"},
        {"limit": 0},
        {"limit": 201},
        {"cursor": "garbage"},
    ],
)
def test_bad_query_parameters_are_422(api, world, tasks, params):
    r = _get(api, world, **params)
    assert r.status_code == 422, r.content
    assert r.json()["code"] == "validation_error"


def test_cursor_of_another_ordering_is_422(api, world, tasks):
    cursor = _get(api, world, ordering="due_at", limit=2).json()["next_cursor"]
    assert cursor
    assert _get(api, world, ordering="priority", cursor=cursor).status_code == 422
