"""Boards and lists through the HTTP API: shapes, validation, cascade, audit, isolation."""

import uuid

import pytest

from tests.boards.conftest import audit_events, in_org, seed_board

pytestmark = pytest.mark.django_db


def _detail_titles(body: dict) -> list[list[str]]:
    return [[task["title"] for task in task_list["tasks"]] for task_list in body["lists"]]


# --- boards -----------------------------------------------------------------------


def test_create_board(api, world):
    r = api(world.a, world.a.admin).post("/boards", {"name": "  Launch  ", "description": "Q3"})
    assert r.status_code == 201, r.content
    body = r.json()
    assert set(body) == {"id", "name", "description", "created_at", "updated_at"}
    assert body["name"] == "Launch" and body["description"] == "Q3"
    [event] = audit_events(world.a, target_id=body["id"])
    assert event.action == "board.created" and event.target_type == "board"
    assert str(event.board_id) == body["id"] and str(event.actor_id) == str(world.a.admin.id)
    assert event.changes == {
        "name": {"from": None, "to": "Launch"},
        "description": {"from": None, "to": "Q3"},
    }


def test_create_board_description_is_optional(api, world):
    r = api(world.a, world.a.owner).post("/boards", {"name": "Plain"})
    assert r.status_code == 201, r.content
    assert r.json()["description"] == ""


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"name": ""},
        {"name": "   "},
        {"name": None},
        {"name": "x" * 101},
        {"name": "ok", "description": "x" * 10001},
        {"name": "nul\x00byte"},
    ],
)
def test_create_board_rejects_bad_input_without_event(api, world, payload):
    before = len(audit_events(world.a))
    r = api(world.a, world.a.owner).post("/boards", payload)
    assert r.status_code == 422, r.content
    assert r.json()["code"] == "validation_error" and r.json()["errors"]
    assert len(audit_events(world.a)) == before


def test_board_name_limits_are_inclusive(api, world):
    r = api(world.a, world.a.owner).post("/boards", {"name": "x" * 100, "description": "y" * 10000})
    assert r.status_code == 201, r.content


def test_list_boards_paginates_and_shows_only_this_org(api, world, lookalike):
    names = [f"Board {i}" for i in range(5)]
    client = api(world.a, world.a.member)
    for name in names:
        with in_org(world.a):
            seed_board(world.a, name=name, lists=())
    seen, cursor = [], None
    while True:
        r = client.get("/boards", {"limit": 2, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.content
        page = r.json()
        assert len(page["items"]) <= 2
        seen += [item["name"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == names  # oldest first; B's "Roadmap" never appears


def test_board_detail_has_lists_and_tasks_in_order(api, world, seeded):
    r = api(world.a, world.a.member).get(f"/boards/{seeded.board.id}")
    assert r.status_code == 200, r.content
    body = r.json()
    assert {"id", "name", "description", "created_at", "updated_at", "lists"} <= set(body)
    assert [(lst["name"], lst["position"]) for lst in body["lists"]] == [
        ("To do", 0),
        ("Doing", 1),
        ("Done", 2),
    ]
    assert _detail_titles(body) == [[t.title for t in tasks] for tasks in seeded.tasks]
    first = body["lists"][0]["tasks"][1]
    assert set(first) == {
        "id",
        "board_id",
        "list_id",
        "title",
        "description",
        "status",
        "priority",
        "assignee_id",
        "created_by",
        "due_at",
        "position",
        "completed_at",
        "created_at",
        "updated_at",
    }
    assert first["position"] == 1 and first["board_id"] == str(seeded.board.id)
    assert first["list_id"] == body["lists"][0]["id"]


def test_board_detail_of_empty_board(api, world):
    empty = seed_board(world.a, name="Empty", lists=())
    r = api(world.a, world.a.member).get(f"/boards/{empty.board.id}")
    assert r.status_code == 200
    assert r.json()["lists"] == []


def test_update_board_changes_only_given_fields(api, world, seeded):
    client = api(world.a, world.a.admin)
    with in_org(world.a):
        seeded.board.description = "keep me"
        seeded.board.save()
    r = client.patch(f"/boards/{seeded.board.id}", {"name": "Renamed"})
    assert r.status_code == 200, r.content
    assert r.json()["name"] == "Renamed" and r.json()["description"] == "keep me"
    assert r.json()["updated_at"] > r.json()["created_at"]
    [event] = audit_events(world.a, target_id=seeded.board.id)
    assert event.action == "board.updated" and event.board_id == seeded.board.id
    assert event.changes == {"name": {"from": "Roadmap", "to": "Renamed"}}

    r = client.patch(f"/boards/{seeded.board.id}", {"description": None})
    assert r.status_code == 200 and r.json()["description"] == ""
    assert r.json()["name"] == "Renamed"


def test_update_board_without_change_writes_no_event(api, world, seeded):
    r = api(world.a, world.a.admin).patch(f"/boards/{seeded.board.id}", {"name": "Roadmap"})
    assert r.status_code == 200
    assert audit_events(world.a, target_id=seeded.board.id) == []


def test_update_board_rejects_null_name(api, world, seeded):
    r = api(world.a, world.a.admin).patch(f"/boards/{seeded.board.id}", {"name": None})
    assert r.status_code == 422


def test_delete_board_deletes_lists_tasks_and_comments(api, world, seeded, lookalike):
    from model_bakery import baker

    from tenant_apps.boards.models import Board, Comment, Task, TaskList

    with in_org(world.a):
        baker.make_recipe("boards.comment", task=seeded.tasks[0][0], author_id=world.a.owner.id)
    r = api(world.a, world.a.owner).delete(f"/boards/{seeded.board.id}")
    assert r.status_code == 204, r.content
    assert r.content == b""
    with in_org(world.a):
        assert not Board.objects.filter(id=seeded.board.id).exists()
        assert not TaskList.objects.filter(board_id=seeded.board.id).exists()
        assert not Task.objects.filter(board_id=seeded.board.id).exists()
        assert not Comment.objects.filter(task__board_id=seeded.board.id).exists()
    with in_org(world.b):  # B's look-alike untouched
        assert Task.objects.filter(board_id=lookalike.board.id).count() == 9
    [event] = audit_events(world.a, target_id=seeded.board.id)
    assert event.action == "board.deleted" and event.board_id == seeded.board.id
    assert event.changes == {
        "name": {"from": "Roadmap", "to": None},
        "description": {"from": "", "to": None},
    }
    assert api(world.a, world.a.owner).get(f"/boards/{seeded.board.id}").status_code == 404


# --- lists ------------------------------------------------------------------------


def test_create_list_at_end_and_at_position(api, world, seeded):
    client = api(world.a, world.a.admin)
    r = client.post(f"/boards/{seeded.board.id}/lists", {"name": "Later"})
    assert r.status_code == 201, r.content
    body = r.json()
    assert set(body) == {"id", "board_id", "name", "position", "created_at"}
    assert body["position"] == 3 and body["board_id"] == str(seeded.board.id)

    r = client.post(f"/boards/{seeded.board.id}/lists", {"name": "Inbox", "position": 0})
    assert r.json()["position"] == 0
    r = client.post(f"/boards/{seeded.board.id}/lists", {"name": "Far", "position": 99})
    assert r.json()["position"] == 5  # clamped to the end

    detail = client.get(f"/boards/{seeded.board.id}").json()
    assert [lst["name"] for lst in detail["lists"]] == [
        "Inbox",
        "To do",
        "Doing",
        "Done",
        "Later",
        "Far",
    ]
    [event] = audit_events(world.a, action="list.created", target_id=body["id"])
    assert event.board_id == seeded.board.id and event.target_type == "list"
    assert event.changes["name"] == {"from": None, "to": "Later"}


def test_rename_and_reorder_list(api, world, seeded):
    client = api(world.a, world.a.owner)
    done = seeded.lists[2]
    r = client.patch(f"/lists/{done.id}", {"name": "Shipped", "position": 0})
    assert r.status_code == 200, r.content
    assert r.json()["name"] == "Shipped" and r.json()["position"] == 0
    detail = client.get(f"/boards/{seeded.board.id}").json()
    assert [lst["name"] for lst in detail["lists"]] == ["Shipped", "To do", "Doing"]
    [event] = audit_events(world.a, target_id=done.id)
    assert event.action == "list.updated" and event.board_id == seeded.board.id
    assert event.changes == {
        "name": {"from": "Done", "to": "Shipped"},
        "position": {"from": 2, "to": 0},
    }


def test_list_update_to_same_place_writes_nothing(api, world, seeded):
    r = api(world.a, world.a.owner).patch(
        f"/lists/{seeded.lists[1].id}", {"position": 1, "name": "Doing"}
    )
    assert r.status_code == 200 and r.json()["position"] == 1
    assert audit_events(world.a, target_id=seeded.lists[1].id) == []


def test_list_name_validation(api, world, seeded):
    client = api(world.a, world.a.owner)
    assert client.post(f"/boards/{seeded.board.id}/lists", {"name": "x" * 101}).status_code == 422
    assert client.post(f"/boards/{seeded.board.id}/lists", {"name": ""}).status_code == 422
    assert client.patch(f"/lists/{seeded.lists[0].id}", {"name": None}).status_code == 422
    assert client.patch(f"/lists/{seeded.lists[0].id}", {"position": "first"}).status_code == 422


def test_delete_list_deletes_its_tasks_only(api, world, seeded):
    from tenant_apps.boards.models import Task

    doing = seeded.lists[1]
    r = api(world.a, world.a.admin).delete(f"/lists/{doing.id}")
    assert r.status_code == 204
    with in_org(world.a):
        assert not Task.objects.filter(list_id=doing.id).exists()
        assert Task.objects.filter(board_id=seeded.board.id).count() == 4
    detail = api(world.a, world.a.admin).get(f"/boards/{seeded.board.id}").json()
    assert [(lst["name"], lst["position"]) for lst in detail["lists"]] == [
        ("To do", 0),
        ("Done", 1),
    ]
    [event] = audit_events(world.a, target_id=doing.id)
    assert event.action == "list.deleted" and event.board_id == seeded.board.id
    assert event.changes["name"] == {"from": "Doing", "to": None}


# --- isolation and bad ids --------------------------------------------------------


def test_other_org_ids_are_404(api, world, seeded, lookalike):
    client = api(world.a, world.a.owner)
    b_board, b_list = lookalike.board.id, lookalike.lists[0].id
    for response in [
        client.get(f"/boards/{b_board}"),
        client.patch(f"/boards/{b_board}", {"name": "Hijacked"}),
        client.delete(f"/boards/{b_board}"),
        client.post(f"/boards/{b_board}/lists", {"name": "Hijacked"}),
        client.patch(f"/lists/{b_list}", {"name": "Hijacked"}),
        client.delete(f"/lists/{b_list}"),
    ]:
        assert response.status_code == 404, response.content
        assert response.json() == {"code": "not_found", "detail": response.json()["detail"]}
    # the same request for a board that never existed answers the same
    missing = client.get(f"/boards/{uuid.uuid4()}")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    with in_org(world.b):
        from tenant_apps.boards.models import Board

        assert Board.objects.get(id=b_board).name == "Roadmap"


def test_b_sees_its_own_board_not_a(api, world, seeded, lookalike):
    r = api(world.b, world.b.member).get("/boards")
    assert [item["id"] for item in r.json()["items"]] == [str(lookalike.board.id)]
    assert api(world.b, world.b.owner).get(f"/boards/{seeded.board.id}").status_code == 404


@pytest.mark.parametrize("bad", ["not-a-uuid", "123", "00000000-0000-0000-0000-00000000000g"])
def test_invalid_ids_in_paths_are_client_errors(api, world, bad):
    client = api(world.a, world.a.owner)
    for response in [
        client.get(f"/boards/{bad}"),
        client.patch(f"/boards/{bad}", {"name": "x"}),
        client.delete(f"/lists/{bad}"),
    ]:
        assert response.status_code in (404, 422), response.content
        assert "code" in response.json()


def test_failed_mutation_leaves_no_audit_event(api, world, monkeypatch):
    """The event and the change share a transaction: a failure after the event rolls both back."""
    from tenant_apps.boards.models import Board
    from tenant_apps.boards.services import _common as services  # where record() calls it

    real = services.audit_record

    def record_then_fail(**kwargs):
        real(**kwargs)
        raise RuntimeError("boom after the audit event")

    monkeypatch.setattr(services, "audit_record", record_then_fail)
    before = len(audit_events(world.a))
    r = api(world.a, world.a.owner).post("/boards", {"name": "Doomed"})
    assert r.status_code == 500
    assert len(audit_events(world.a)) == before
    with in_org(world.a):
        assert not Board.objects.filter(name="Doomed").exists()
