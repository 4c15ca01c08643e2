"""Idempotency-Key on POST (API.md "Idempotency and conditional requests"):
per caller in PostgreSQL with the first response, replayed with
`Idempotent-Replayed: true`; same key with another body 422; concurrent
duplicates create one object; keys expire after 24 hours. Both organizations
in play: a key is per caller per organization."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context
from model_bakery import baker

from tests.support import ApiClient, race
from tests.tokens.helpers import make_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def lists(world):
    with schema_context(world.a.org.schema_name):
        a = baker.make_recipe("boards.task_list", board=baker.make_recipe("boards.board"))
    with schema_context(world.b.org.schema_name):
        b = baker.make_recipe("boards.task_list", board=baker.make_recipe("boards.board"))
    return a, b


def _task_count(org_world, title: str) -> int:
    from tenant_apps.boards.models import Task

    with schema_context(org_world.org.schema_name):
        return Task.objects.filter(title=title).count()


def _events(org_world, action: str) -> int:
    from tenant_apps.audit.models import AuditEvent

    with schema_context(org_world.org.schema_name):
        return AuditEvent.objects.filter(action=action).count()


def test_a_retry_replays_the_first_response(api, world, lists):
    client = api(world.a, world.a.member)
    body = {"list_id": str(lists[0].id), "title": "Once"}
    first = client.post("/tasks", body, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201 and "Idempotent-Replayed" not in first
    again = client.post("/tasks", body, HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert again["Content-Type"] == first["Content-Type"]
    assert _task_count(world.a, "Once") == 1 and _events(world.a, "task.created") == 1


def test_same_key_other_body_is_422(api, world, lists):
    client = api(world.a, world.a.member)
    r = client.post("/tasks", {"list_id": str(lists[0].id), "title": "A"}, HTTP_IDEMPOTENCY_KEY="k")
    assert r.status_code == 201
    r = client.post("/tasks", {"list_id": str(lists[0].id), "title": "B"}, HTTP_IDEMPOTENCY_KEY="k")
    assert r.status_code == 422 and r.json()["code"] == "idempotency_key_reused"
    r = client.post("/boards", {"name": "B"}, HTTP_IDEMPOTENCY_KEY="k")  # another path, same key
    assert r.status_code == 422 and r.json()["code"] == "idempotency_key_reused"
    assert _task_count(world.a, "B") == 0


def test_keys_are_per_caller_and_per_organization(api, world, lists):
    body = {"list_id": str(lists[0].id), "title": "Shared key"}
    assert api(world.a, world.a.member).post("/tasks", body, HTTP_IDEMPOTENCY_KEY="same").status_code == 201
    r = api(world.a, world.a.admin).post("/tasks", body, HTTP_IDEMPOTENCY_KEY="same")
    assert r.status_code == 201 and "Idempotent-Replayed" not in r
    raw, _ = make_token(world.a, world.a.member)  # the token is a caller of its own
    r = ApiClient(world.a.host, token=raw).post("/tasks", body, HTTP_IDEMPOTENCY_KEY="same")
    assert r.status_code == 201 and "Idempotent-Replayed" not in r
    assert _task_count(world.a, "Shared key") == 3
    body_b = {"list_id": str(lists[1].id), "title": "Shared key"}
    r = api(world.b, world.b.member).post("/tasks", body_b, HTTP_IDEMPOTENCY_KEY="same")
    assert r.status_code == 201 and "Idempotent-Replayed" not in r
    # globex's list id sent to acme with a key acme already knows: another body, 422, nothing leaks
    r = api(world.a, world.a.member).post("/tasks", body_b, HTTP_IDEMPOTENCY_KEY="same")
    assert r.status_code == 422


def test_failures_are_not_stored(api, world, lists):
    client = api(world.a, world.a.member)
    r = client.post("/boards", {"name": "Not a member's"}, HTTP_IDEMPOTENCY_KEY="f")
    assert r.status_code == 403
    r = api(world.a, world.a.owner).post("/boards", {"name": "Owner's"}, HTTP_IDEMPOTENCY_KEY="f")
    assert r.status_code == 201  # another caller anyway
    r = client.post("/tasks", {"list_id": str(lists[0].id)}, HTTP_IDEMPOTENCY_KEY="g")
    assert r.status_code == 422
    from platform_core.models import IdempotencyKey

    assert not IdempotencyKey.objects.filter(key="g").exists()


def test_no_replay_for_a_revoked_token(api, world, lists):
    raw, token_id = make_token(world.a, world.a.member)
    client = ApiClient(world.a.host, token=raw)
    body = {"list_id": str(lists[0].id), "title": "By token"}
    assert client.post("/tasks", body, HTTP_IDEMPOTENCY_KEY="t").status_code == 201
    assert client.post("/tasks", body, HTTP_IDEMPOTENCY_KEY="t")["Idempotent-Replayed"] == "true"
    assert api(world.a, world.a.member).delete(f"/tokens/{token_id}").status_code == 204
    r = client.post("/tasks", body, HTTP_IDEMPOTENCY_KEY="t")
    assert r.status_code == 401 and "Idempotent-Replayed" not in r


def test_bad_keys_and_unauthenticated_calls(api, world, lists):
    client = api(world.a, world.a.member)
    r = client.post("/boards", {"name": "x"}, HTTP_IDEMPOTENCY_KEY="x" * 256)
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
    r = api(world.a).post("/boards", {"name": "x"}, HTTP_IDEMPOTENCY_KEY="anon")
    assert r.status_code == 401


def test_expired_keys_are_swept_and_reusable(api, world, lists):
    from platform_core.idempotency import idempotency_sweep
    from platform_core.models import IdempotencyKey

    client = api(world.a, world.a.member)
    body = {"list_id": str(lists[0].id), "title": "Old"}
    assert client.post("/tasks", body, HTTP_IDEMPOTENCY_KEY="old").status_code == 201
    IdempotencyKey.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))
    r = client.post("/tasks", body, HTTP_IDEMPOTENCY_KEY="old")
    assert r.status_code == 201 and "Idempotent-Replayed" not in r  # past 24 hours: a new request
    IdempotencyKey.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))
    assert idempotency_sweep() == 1
    assert not IdempotencyKey.objects.filter(key="old").exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_create_one_object(world):
    with schema_context(world.a.org.schema_name):
        task_list = baker.make_recipe("boards.task_list", board=baker.make_recipe("boards.board"))
    token = world.token(world.a.member)
    body = {"list_id": str(task_list.id), "title": "Raced"}

    def post():
        r = ApiClient(world.a.host, token=token).post("/tasks", body, HTTP_IDEMPOTENCY_KEY="race")
        return r.status_code, r.content, r.get("Idempotent-Replayed")

    results = race(*[post for _ in range(4)])
    assert {status for status, _, _ in results} == {201}
    assert len({content for _, content, _ in results}) == 1
    assert sorted(replayed or "" for _, _, replayed in results) == ["", "true", "true", "true"]
    assert _task_count(world.a, "Raced") == 1
    from tenant_apps.audit.models import AuditEvent

    task_id = json.loads(results[0][1])["id"]
    with schema_context(world.a.org.schema_name):
        assert AuditEvent.objects.filter(action="task.created", target_id=task_id).count() == 1


def test_the_cost_in_sql_of_an_idempotent_post(api, world, lists):
    """An idempotent POST adds the key's DELETE (expired), INSERT and UPDATE
    (and in production the service's transaction becomes a savepoint:
    SAVEPOINT, RELEASE); a replay is three statements and runs no handler."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api(world.a, world.a.member)
    body = {"list_id": str(lists[0].id), "title": "Counted"}
    client.post("/tasks", body)  # warm the request path
    with CaptureQueriesContext(connection) as plain:
        assert client.post("/tasks", body).status_code == 201
    with CaptureQueriesContext(connection) as keyed:
        assert client.post("/tasks", body, HTTP_IDEMPOTENCY_KEY="cost").status_code == 201
    with CaptureQueriesContext(connection) as replayed:
        assert client.post("/tasks", body, HTTP_IDEMPOTENCY_KEY="cost").status_code == 201

    def statements(captured) -> list[str]:  # savepoints and search_path are bookkeeping
        return [
            q["sql"] for q in captured.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE", "SET "))
        ]

    added = len(statements(keyed)) - len(statements(plain))
    assert added == 3, statements(keyed)  # DELETE (expired), INSERT ... ON CONFLICT, UPDATE (the response)
    assert len(statements(replayed)) == 3, statements(replayed)  # DELETE, INSERT, SELECT
