"""Comments through the HTTP API: add, list, edit, delete; authorship rules; isolation."""

import uuid

import pytest
from model_bakery import baker

from tests.boards.conftest import audit_events, in_org, seed_board

pytestmark = pytest.mark.django_db


@pytest.fixture
def task(world, lookalike):
    return seed_board(world.a, name="Roadmap", lists=("To do",), tasks=1).tasks[0][0]


@pytest.fixture
def foreign_comment(world, lookalike):
    with in_org(world.b):
        return baker.make_recipe(
            "boards.comment", task=lookalike.tasks[0][0], author_id=world.b.member.id, body="Hi"
        )


def test_add_comment(api, world, task):
    r = api(world.a, world.a.member).post(f"/tasks/{task.id}/comments", {"body": "Looks good"})
    assert r.status_code == 201, r.content
    body = r.json()
    assert set(body) == {"id", "task_id", "author_id", "body", "created_at", "updated_at"}
    assert body["task_id"] == str(task.id) and body["author_id"] == str(world.a.member.id)
    assert body["body"] == "Looks good"
    [event] = audit_events(world.a, target_id=body["id"])
    assert event.action == "comment.created" and event.target_type == "comment"
    assert event.board_id == task.board_id
    assert event.changes == {
        "task_id": {"from": None, "to": str(task.id)},
        "body": {"from": None, "to": "Looks good"},
    }


@pytest.mark.parametrize("body", ["", "   ", "x" * 10001, None])
def test_comment_body_validation(api, world, task, body):
    before = len(audit_events(world.a))
    r = api(world.a, world.a.member).post(f"/tasks/{task.id}/comments", {"body": body})
    assert r.status_code == 422, r.content
    assert len(audit_events(world.a)) == before


def test_comment_body_limit_is_inclusive(api, world, task):
    r = api(world.a, world.a.member).post(f"/tasks/{task.id}/comments", {"body": "x" * 10000})
    assert r.status_code == 201


def test_list_comments_oldest_first_paginated(api, world, task, foreign_comment):
    client = api(world.a, world.a.member)
    for i in range(5):
        assert client.post(f"/tasks/{task.id}/comments", {"body": f"c{i}"}).status_code == 201
    other_task = seed_board(world.a, name="Other", lists=("L",), tasks=1).tasks[0][0]
    client.post(f"/tasks/{other_task.id}/comments", {"body": "elsewhere"})
    seen, cursor = [], None
    while True:
        r = client.get(
            f"/tasks/{task.id}/comments", {"limit": 2, **({"cursor": cursor} if cursor else {})}
        )
        assert r.status_code == 200, r.content
        seen += [c["body"] for c in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    assert seen == [f"c{i}" for i in range(5)]


def test_author_edits_comment(api, world, task):
    client = api(world.a, world.a.member)
    comment = client.post(f"/tasks/{task.id}/comments", {"body": "Frist"}).json()
    r = client.patch(f"/comments/{comment['id']}", {"body": "First"})
    assert r.status_code == 200, r.content
    assert r.json()["body"] == "First" and r.json()["updated_at"] > r.json()["created_at"]
    events = audit_events(world.a, target_id=comment["id"])
    assert [e.action for e in events] == ["comment.created", "comment.updated"]
    assert events[1].changes == {"body": {"from": "Frist", "to": "First"}}
    assert events[1].board_id == task.board_id
    # same body again: nothing to record
    assert client.patch(f"/comments/{comment['id']}", {"body": "First"}).status_code == 200
    assert len(audit_events(world.a, target_id=comment["id"])) == 2


def test_only_the_author_edits_but_admins_may_delete(api, world, task):
    comment = (
        api(world.a, world.a.member).post(f"/tasks/{task.id}/comments", {"body": "mine"}).json()
    )
    for user in (world.a.owner, world.a.admin):
        r = api(world.a, user).patch(f"/comments/{comment['id']}", {"body": "not yours"})
        assert r.status_code == 403, r.content
    r = api(world.a, world.a.admin).delete(f"/comments/{comment['id']}")
    assert r.status_code == 204
    events = audit_events(world.a, target_id=comment["id"])
    assert [e.action for e in events] == ["comment.created", "comment.deleted"]
    assert events[1].actor_id == world.a.admin.id and events[1].board_id == task.board_id
    assert events[1].changes["body"] == {"from": "mine", "to": None}
    assert api(world.a, world.a.member).get(f"/tasks/{task.id}/comments").json()["items"] == []


def test_member_cannot_delete_someone_elses_comment(api, world, task):
    comment = (
        api(world.a, world.a.admin).post(f"/tasks/{task.id}/comments", {"body": "admin's"}).json()
    )
    assert api(world.a, world.a.member).delete(f"/comments/{comment['id']}").status_code == 403
    assert api(world.a, world.a.admin).delete(f"/comments/{comment['id']}").status_code == 204


def test_foreign_ids_are_404(api, world, task, lookalike, foreign_comment):
    client = api(world.a, world.a.owner)
    foreign_task = lookalike.tasks[0][0].id
    for response in [
        client.get(f"/tasks/{foreign_task}/comments"),
        client.post(f"/tasks/{foreign_task}/comments", {"body": "Hijack"}),
        client.patch(f"/comments/{foreign_comment.id}", {"body": "Hijack"}),
        client.delete(f"/comments/{foreign_comment.id}"),
        client.patch(f"/comments/{uuid.uuid4()}", {"body": "x"}),
        client.get(f"/tasks/{uuid.uuid4()}/comments"),
    ]:
        assert response.status_code == 404, response.content
    with in_org(world.b):
        from tenant_apps.boards.models import Comment

        assert Comment.objects.get(id=foreign_comment.id).body == "Hi"
        assert Comment.objects.count() == 1


def test_invalid_comment_id_is_not_a_server_error(api, world):
    r = api(world.a, world.a.owner).patch("/comments/nope", {"body": "x"})
    assert r.status_code in (404, 422)
