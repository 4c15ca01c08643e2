"""Tasks through the HTTP API: create, read, update, assign, complete/reopen, move, delete."""

import uuid

import pytest

from tests.boards.conftest import audit_events, in_org, seed_board
from tests.support import add_member, make_user, unique_email

pytestmark = pytest.mark.django_db


@pytest.fixture
def board(world, lookalike):
    return seed_board(world.a, name="Roadmap")


def _task_ids(api, world, list_id) -> list[str]:
    r = api(world.a, world.a.owner).get("/tasks", {"list_id": str(list_id)})
    return [item["id"] for item in r.json()["items"]]


# --- create -------------------------------------------------------------------------


def test_create_task_defaults(api, world, board):
    todo = board.lists[0]
    r = api(world.a, world.a.member).post(
        "/tasks", {"list_id": str(todo.id), "title": "  Write docs "}
    )
    assert r.status_code == 201, r.content
    task = r.json()
    assert task["title"] == "Write docs"
    assert task["status"] == "open" and task["priority"] == "medium"
    assert task["description"] == "" and task["assignee_id"] is None and task["due_at"] is None
    assert task["completed_at"] is None
    assert task["created_by"] == str(world.a.member.id)
    assert task["board_id"] == str(board.board.id) and task["list_id"] == str(todo.id)
    assert task["position"] == 2  # after the two seeded tasks
    [event] = audit_events(world.a, target_id=task["id"])
    assert event.action == "task.created" and event.target_type == "task"
    assert event.board_id == board.board.id and event.actor_id == world.a.member.id
    assert event.changes["title"] == {"from": None, "to": "Write docs"}
    assert event.changes["list_id"] == {"from": None, "to": str(todo.id)}


def test_create_task_with_every_field(api, world, board):
    payload = {
        "list_id": str(board.lists[1].id),
        "title": "Ship",
        "description": "All of it",
        "assignee_id": str(world.a.admin.id),
        "priority": "urgent",
        "due_at": "2031-05-01T12:00:00+02:00",
        "position": 0,
    }
    r = api(world.a, world.a.owner).post("/tasks", payload)
    assert r.status_code == 201, r.content
    task = r.json()
    assert task["assignee_id"] == str(world.a.admin.id) and task["priority"] == "urgent"
    assert task["due_at"] == "2031-05-01T10:00:00Z" and task["position"] == 0
    assert _task_ids(api, world, board.lists[1].id)[0] == task["id"]


@pytest.mark.parametrize(
    "change",
    [
        {"title": ""},
        {"title": "   "},
        {"title": "x" * 201},
        {"title": None},
        {"description": "x" * 10001},
        {"priority": "critical"},
        {"due_at": "tomorrow"},
        {"list_id": "not-a-uuid"},
        {"position": "top"},
    ],
)
def test_create_task_validation(api, world, board, change):
    payload = {"list_id": str(board.lists[0].id), "title": "Valid", **change}
    before = len(audit_events(world.a))
    r = api(world.a, world.a.owner).post("/tasks", payload)
    assert r.status_code == 422, r.content
    assert r.json()["code"] == "validation_error"
    assert len(audit_events(world.a)) == before


def test_create_task_title_limit_is_inclusive(api, world, board):
    r = api(world.a, world.a.owner).post(
        "/tasks",
        {"list_id": str(board.lists[0].id), "title": "t" * 200, "description": "d" * 10000},
    )
    assert r.status_code == 201


def test_create_task_in_unknown_or_foreign_list_is_404(api, world, board, lookalike):
    client = api(world.a, world.a.owner)
    for list_id in (uuid.uuid4(), lookalike.lists[0].id):
        r = client.post("/tasks", {"list_id": str(list_id), "title": "Lost"})
        assert r.status_code == 404, r.content
    with in_org(world.b):
        from tenant_apps.boards.models import Task

        assert not Task.objects.filter(title="Lost").exists()


def test_assignee_must_be_a_member_of_this_org(api, world, board):
    client = api(world.a, world.a.owner)
    strangers = [world.outsider.id, world.b.member.id, uuid.uuid4()]
    for stranger in strangers:
        before = len(audit_events(world.a))
        r = client.post(
            "/tasks",
            {"list_id": str(board.lists[0].id), "title": "T", "assignee_id": str(stranger)},
        )
        assert r.status_code == 422, r.content
        assert r.json()["errors"][0]["loc"] == ["body", "assignee_id"]
        r = client.post(f"/tasks/{board.tasks[0][0].id}/assign", {"assignee_id": str(stranger)})
        assert r.status_code == 422, r.content
        assert len(audit_events(world.a)) == before
    newcomer = make_user(unique_email("newcomer"))
    add_member(world.a.org, newcomer, "member")
    r = client.post(f"/tasks/{board.tasks[0][0].id}/assign", {"assignee_id": str(newcomer.id)})
    assert r.status_code == 200 and r.json()["assignee_id"] == str(newcomer.id)


# --- read ------------------------------------------------------------------------------


def test_get_task(api, world, board):
    task = board.tasks[2][1]
    r = api(world.a, world.a.member).get(f"/tasks/{task.id}")
    assert r.status_code == 200
    body = r.json()
    assert (
        body["id"] == str(task.id)
        and body["position"] == 1
        and body["list_id"] == str(board.lists[2].id)
    )


def test_foreign_task_ids_are_404(api, world, board, lookalike):
    client = api(world.a, world.a.owner)
    foreign = lookalike.tasks[0][0].id
    for response in [
        client.get(f"/tasks/{foreign}"),
        client.patch(f"/tasks/{foreign}", {"title": "Hijacked"}),
        client.delete(f"/tasks/{foreign}"),
        client.post(f"/tasks/{foreign}/assign", {"assignee_id": None}),
        client.post(f"/tasks/{foreign}/complete"),
        client.post(f"/tasks/{foreign}/reopen"),
        client.post(f"/tasks/{foreign}/move", {"list_id": str(board.lists[0].id), "position": 0}),
        client.get(f"/tasks/{uuid.uuid4()}"),
    ]:
        assert response.status_code == 404, response.content
        assert response.json()["code"] == "not_found"
    with in_org(world.b):
        from tenant_apps.boards.models import Task

        assert Task.objects.get(id=foreign).title == "To do #0"


# --- update ------------------------------------------------------------------------------


def test_patch_changes_only_given_fields(api, world, board):
    task = board.tasks[0][0]
    client = api(world.a, world.a.owner)
    r = client.patch(f"/tasks/{task.id}", {"description": "More", "due_at": "2030-01-01T00:00:00Z"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["title"] == task.title and body["description"] == "More"
    assert body["due_at"] == "2030-01-01T00:00:00Z" and body["priority"] == "medium"
    assert body["updated_at"] > body["created_at"]
    [event] = audit_events(world.a, target_id=task.id)
    assert event.action == "task.updated" and event.board_id == board.board.id
    assert set(event.changes) == {"description", "due_at"}

    r = client.patch(f"/tasks/{task.id}", {"due_at": None, "description": None, "priority": "high"})
    body = r.json()
    assert body["due_at"] is None and body["description"] == "" and body["priority"] == "high"


def test_patch_rejects_null_for_required_fields(api, world, board):
    client = api(world.a, world.a.owner)
    task = board.tasks[0][0]
    for payload in ({"title": None}, {"priority": None}, {"title": "x" * 201}, {"priority": "meh"}):
        assert client.patch(f"/tasks/{task.id}", payload).status_code == 422, payload
    assert audit_events(world.a, target_id=task.id) == []


def test_patch_without_change_writes_no_event(api, world, board):
    task = board.tasks[0][0]
    r = api(world.a, world.a.owner).patch(f"/tasks/{task.id}", {"title": task.title})
    assert r.status_code == 200
    assert audit_events(world.a, target_id=task.id) == []


def test_assign_and_unassign(api, world, board):
    task = board.tasks[1][0]
    client = api(world.a, world.a.admin)
    r = client.post(f"/tasks/{task.id}/assign", {"assignee_id": str(world.a.member.id)})
    assert r.status_code == 200 and r.json()["assignee_id"] == str(world.a.member.id)
    r = client.post(f"/tasks/{task.id}/assign", {"assignee_id": None})
    assert r.status_code == 200 and r.json()["assignee_id"] is None
    events = audit_events(world.a, target_id=task.id)
    assert [e.action for e in events] == ["task.assigned", "task.assigned"]
    assert events[0].changes == {"assignee_id": {"from": None, "to": str(world.a.member.id)}}
    assert events[1].changes == {"assignee_id": {"from": str(world.a.member.id), "to": None}}
    assert all(e.board_id == board.board.id for e in events)
    assert client.post(f"/tasks/{task.id}/assign", {}).status_code == 422  # the key is required


def test_assignee_can_update_after_assignment(api, world, board):
    """The member gains TASK_UPDATE on the task by being assigned."""
    task = board.tasks[0][0]
    member = api(world.a, world.a.member)
    assert member.post(f"/tasks/{task.id}/complete").status_code == 403
    api(world.a, world.a.owner).post(
        f"/tasks/{task.id}/assign", {"assignee_id": str(world.a.member.id)}
    )
    assert member.post(f"/tasks/{task.id}/complete").status_code == 200


def test_complete_and_reopen(api, world, board):
    task = board.tasks[0][1]
    client = api(world.a, world.a.owner)
    r = client.post(f"/tasks/{task.id}/complete")
    assert r.status_code == 200, r.content
    done = r.json()
    assert done["status"] == "done" and done["completed_at"] is not None

    again = client.post(f"/tasks/{task.id}/complete")
    assert again.status_code == 200 and again.json()["completed_at"] == done["completed_at"]

    r = client.post(f"/tasks/{task.id}/reopen")
    assert r.json()["status"] == "open" and r.json()["completed_at"] is None
    assert client.post(f"/tasks/{task.id}/reopen").status_code == 200

    events = audit_events(world.a, target_id=task.id)
    assert [e.action for e in events] == ["task.completed", "task.reopened"]  # no-ops wrote nothing
    assert events[0].changes["status"] == {"from": "open", "to": "done"}
    assert events[1].changes["status"] == {"from": "done", "to": "open"}
    assert events[1].changes["completed_at"]["to"] is None


def test_filters_see_completion(api, world, board):
    task = board.tasks[0][0]
    api(world.a, world.a.owner).post(f"/tasks/{task.id}/complete")
    r = api(world.a, world.a.owner).get(
        "/tasks", {"board_id": str(board.board.id), "status": "done"}
    )
    assert [item["id"] for item in r.json()["items"]] == [str(task.id)]


# --- move -------------------------------------------------------------------------------


def test_move_to_another_list(api, world, board):
    task = board.tasks[0][0]
    done = board.lists[2]
    r = api(world.a, world.a.owner).post(
        f"/tasks/{task.id}/move", {"list_id": str(done.id), "position": 1}
    )
    assert r.status_code == 200, r.content
    assert r.json()["list_id"] == str(done.id) and r.json()["position"] == 1
    assert _task_ids(api, world, done.id) == [
        str(board.tasks[2][0].id),
        str(task.id),
        str(board.tasks[2][1].id),
    ]
    assert _task_ids(api, world, board.lists[0].id) == [str(board.tasks[0][1].id)]
    [event] = audit_events(world.a, target_id=task.id)
    assert event.action == "task.moved" and event.board_id == board.board.id
    assert event.changes == {
        "list_id": {"from": str(board.lists[0].id), "to": str(done.id)},
        "position": {"from": 0, "to": 1},
    }


def test_move_without_position_goes_to_the_end(api, world, board):
    task = board.tasks[0][0]
    r = api(world.a, world.a.owner).post(
        f"/tasks/{task.id}/move", {"list_id": str(board.lists[1].id)}
    )
    assert r.status_code == 200 and r.json()["position"] == 2


def test_move_to_a_list_of_another_board_is_422(api, world, board):
    other = seed_board(world.a, name="Other", lists=("Elsewhere",), tasks=0)
    task = board.tasks[0][0]
    r = api(world.a, world.a.owner).post(
        f"/tasks/{task.id}/move", {"list_id": str(other.lists[0].id), "position": 0}
    )
    assert r.status_code == 422, r.content
    assert r.json()["errors"][0]["loc"] == ["body", "list_id"]
    assert _task_ids(api, world, board.lists[0].id)[0] == str(task.id)
    assert audit_events(world.a, target_id=task.id) == []


def test_move_to_a_foreign_or_unknown_list_is_404(api, world, board, lookalike):
    task = board.tasks[0][0]
    client = api(world.a, world.a.owner)
    for list_id in (lookalike.lists[0].id, uuid.uuid4()):
        r = client.post(f"/tasks/{task.id}/move", {"list_id": str(list_id), "position": 0})
        assert r.status_code == 404, r.content


# --- delete -------------------------------------------------------------------------------


def test_delete_task_and_its_comments(api, world, board):
    from model_bakery import baker

    from tenant_apps.boards.models import Comment, Task

    task = board.tasks[1][0]
    with in_org(world.a):
        baker.make_recipe("boards.comment", task=task, author_id=world.a.member.id, _quantity=2)
    r = api(world.a, world.a.admin).delete(f"/tasks/{task.id}")
    assert r.status_code == 204
    with in_org(world.a):
        assert not Task.objects.filter(id=task.id).exists()
        assert not Comment.objects.filter(task_id=task.id).exists()
    assert _task_ids(api, world, board.lists[1].id) == [str(board.tasks[1][1].id)]
    [event] = audit_events(world.a, target_id=task.id)
    assert event.action == "task.deleted" and event.board_id == board.board.id
    assert event.changes["title"] == {"from": task.title, "to": None}
    assert api(world.a, world.a.admin).get(f"/tasks/{task.id}").status_code == 404
