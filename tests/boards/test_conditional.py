"""Conditional requests (API.md "Idempotency and conditional requests"):
ETag + If-None-Match (304) on GET of a task and /org; If-Match on PATCH,
DELETE and /tasks/{id}/move (412 precondition_failed, nothing changed);
GET /tasks?updated_since=. Both organizations in play."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context
from model_bakery import baker

from platform_core.etags import etag_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(world):
    with schema_context(world.a.org.schema_name):
        board = baker.make_recipe("boards.board")
        first, second = baker.make_recipe("boards.task_list", board=board, _quantity=2)
        task = baker.make_recipe("boards.task", board=board, list=first, created_by=world.a.owner.id)
        comment = baker.make_recipe("boards.comment", task=task, author_id=world.a.owner.id)
    return board, first, second, task, comment


def _task(world, task_id):
    from tenant_apps.boards.models import Task

    with schema_context(world.a.org.schema_name):
        return Task.objects.filter(id=task_id).first()


def test_task_etag_and_304(api, world, scene):
    task = scene[3]
    client = api(world.a, world.a.owner)
    r = client.get(f"/tasks/{task.id}")
    etag = r["ETag"]
    assert r.status_code == 200 and etag == etag_for(_task(world, task.id))
    r = client.get(f"/tasks/{task.id}", HTTP_IF_NONE_MATCH=etag)
    assert r.status_code == 304 and r.content == b"" and r["ETag"] == etag
    assert client.get(f"/tasks/{task.id}", HTTP_IF_NONE_MATCH=f"W/{etag}").status_code == 304
    assert client.patch(f"/tasks/{task.id}", {"title": "Changed"}).status_code == 200
    r = client.get(f"/tasks/{task.id}", HTTP_IF_NONE_MATCH=etag)
    assert r.status_code == 200 and r["ETag"] != etag
    # another organization's client cannot use it to probe: 404 before any comparison
    assert api(world.b, world.b.owner).get(f"/tasks/{task.id}", HTTP_IF_NONE_MATCH=etag).status_code == 404


def test_if_match_on_task_patch_move_and_delete(api, world, scene):
    _, first, second, task, _ = scene
    client = api(world.a, world.a.owner)
    stale = client.get(f"/tasks/{task.id}")["ETag"]
    assert client.patch(f"/tasks/{task.id}", {"title": "v2"}, HTTP_IF_MATCH=stale).status_code == 200
    current = client.get(f"/tasks/{task.id}")["ETag"]

    r = client.patch(f"/tasks/{task.id}", {"title": "v3"}, HTTP_IF_MATCH=stale)
    assert r.status_code == 412 and r.json()["code"] == "precondition_failed"
    assert _task(world, task.id).title == "v2"
    r = client.post(f"/tasks/{task.id}/move", {"list_id": str(second.id), "position": 0}, HTTP_IF_MATCH=stale)
    assert r.status_code == 412 and _task(world, task.id).list_id == first.id
    assert client.delete(f"/tasks/{task.id}", HTTP_IF_MATCH=stale).status_code == 412
    assert client.delete(f"/tasks/{task.id}", HTTP_IF_MATCH=f"W/{current}").status_code == 412  # weak never matches

    r = client.post(f"/tasks/{task.id}/move", {"list_id": str(second.id), "position": 0}, HTTP_IF_MATCH=current)
    assert r.status_code == 200
    current = client.get(f"/tasks/{task.id}")["ETag"]
    assert client.delete(f"/tasks/{task.id}", HTTP_IF_MATCH=f'"x", {current}').status_code == 204
    assert _task(world, task.id) is None


def test_if_match_on_boards_lists_comments_and_org(api, world, scene):
    board, first, _, _, comment = scene
    client = api(world.a, world.a.owner)
    cases = [
        (f"/boards/{board.id}", {"name": "B2"}),
        (f"/lists/{first.id}", {"name": "L2"}),
        (f"/comments/{comment.id}", {"body": "C2"}),
        ("/org", {"name": "Acme renamed"}),
    ]
    for path, body in cases:
        r = client.patch(path, body, HTTP_IF_MATCH='"not-the-etag"')
        assert r.status_code == 412, (path, r.content)
        assert r.json()["code"] == "precondition_failed"
    assert client.get("/org").json()["name"] != "Acme renamed"
    org_etag = client.get("/org")["ETag"]
    assert client.get("/org", HTTP_IF_NONE_MATCH=org_etag).status_code == 304
    assert client.get("/org", HTTP_IF_NONE_MATCH=org_etag)["ETag"] != api(world.b, world.b.owner).get("/org")["ETag"]
    r = client.patch("/org", {"name": "Acme renamed"}, HTTP_IF_MATCH=org_etag)
    assert r.status_code == 200
    try:
        assert client.get("/org", HTTP_IF_NONE_MATCH=org_etag).status_code == 200  # changed
        assert client.delete(f"/comments/{comment.id}", HTTP_IF_MATCH="*").status_code == 204
        assert client.delete(f"/lists/{first.id}", HTTP_IF_MATCH='"stale"').status_code == 412
        assert client.delete(f"/boards/{board.id}", HTTP_IF_MATCH='"stale"').status_code == 412
    finally:
        client.patch("/org", {"name": world.a.org.name})


def test_updated_since(api, world, scene):
    _, first, _, task, _ = scene
    with schema_context(world.a.org.schema_name):
        baker.make_recipe("boards.task", board=first.board, list=first, _quantity=2)
    with schema_context(world.b.org.schema_name):
        baker.make_recipe("boards.task", _quantity=2)
    client = api(world.a, world.a.owner)
    since = timezone.now()
    assert client.get("/tasks", {"updated_since": since.isoformat()}).json()["items"] == []
    assert client.patch(f"/tasks/{task.id}", {"title": "Touched"}).status_code == 200
    r = client.get("/tasks", {"updated_since": since.isoformat(), "ordering": "updated_at"})
    assert [t["id"] for t in r.json()["items"]] == [str(task.id)]
    everything = client.get(
        "/tasks", {"updated_since": (since - timedelta(days=1)).isoformat(), "ordering": "updated_at", "limit": 1}
    )
    page = everything.json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    seen = [page["items"][0]["id"]]
    while page["next_cursor"]:
        page = client.get(
            "/tasks",
            {
                "updated_since": (since - timedelta(days=1)).isoformat(),
                "ordering": "updated_at",
                "limit": 1,
                "cursor": page["next_cursor"],
            },
        ).json()
        seen += [t["id"] for t in page["items"]]
    assert len(seen) == len(set(seen)) == 3 and seen[-1] == str(task.id)  # acme's only, least recent first
    r = client.get("/tasks", {"updated_since": "yesterday"})
    assert r.status_code == 422
