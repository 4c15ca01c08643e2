"""Live board updates over server-sent events: delivered after commit, only to
subscribers of that board in that organization."""

import time

import pytest

from tests.live.sse import Subscriber

pytestmark = pytest.mark.django_db(transaction=True)


def _board_with_task(api, org):
    owner = api(org, org.owner)
    board = owner.post("/boards", {"name": "Roadmap"}).json()
    todo = owner.post(f"/boards/{board['id']}/lists", {"name": "To do"}).json()
    done = owner.post(f"/boards/{board['id']}/lists", {"name": "Done"}).json()
    task = owner.post("/tasks", {"list_id": todo["id"], "title": "Ship"}).json()
    return board, todo, done, task


def test_subscriber_receives_task_moved_within_a_second(api, world):
    board, _, done, task = _board_with_task(api, world.a)
    sub = Subscriber(world.a.host, f"/api/v1/boards/{board['id']}/events", world.token(world.a.member))
    try:
        r = api(world.a, world.a.owner).post(f"/tasks/{task['id']}/move", {"list_id": done["id"], "position": 0})
        assert r.status_code == 200
        committed = time.monotonic()  # the response comes after the commit
        events = sub.events(wait=1.0, count=1)
        assert time.monotonic() - committed < 1.0
        assert events and events[0][0] == "task.moved"
        assert sub.events(wait=0.3) == []  # and nothing else
        payload = events[0][1]
        assert payload["target_id"] == task["id"] and payload["action"] == "task.moved"
        assert set(payload) >= {"id", "at", "actor_id", "action", "target_type", "target_id", "changes", "request_id"}
    finally:
        sub.close()


def test_access_token_query_parameter(api, world):
    board, _, _, task = _board_with_task(api, world.a)
    sub = Subscriber(world.a.host, f"/api/v1/boards/{board['id']}/events", world.token(world.a.member), via_query=True)
    try:
        assert sub.status == 200
        api(world.a, world.a.owner).post(f"/tasks/{task['id']}/complete")
        assert [name for name, _ in sub.events(wait=1.0)] == ["task.completed"]
    finally:
        sub.close()


def test_other_org_and_other_board_hear_nothing(api, world):
    board_a, _, done_a, task_a = _board_with_task(api, world.a)
    board_b, _, _, _ = _board_with_task(api, world.b)
    other_a, _, _, _ = _board_with_task(api, world.a)
    sub_b = Subscriber(world.b.host, f"/api/v1/boards/{board_b['id']}/events", world.token(world.b.owner))
    sub_other = Subscriber(world.a.host, f"/api/v1/boards/{other_a['id']}/events", world.token(world.a.owner))
    try:
        api(world.a, world.a.owner).post(f"/tasks/{task_a['id']}/move", {"list_id": done_a["id"]})
        assert sub_b.events(wait=1.0) == []
        assert sub_other.events(wait=0.2) == []
    finally:
        sub_b.close()
        sub_other.close()


def test_board_of_another_org_is_404_and_non_member_403(api, world):
    board_a, _, _, _ = _board_with_task(api, world.a)
    sub = Subscriber(world.b.host, f"/api/v1/boards/{board_a['id']}/events", world.token(world.b.owner))
    assert sub.status == 404
    sub = Subscriber(world.a.host, f"/api/v1/boards/{board_a['id']}/events", world.token(world.outsider))
    assert sub.status == 403
    sub = Subscriber(world.a.host, f"/api/v1/boards/{board_a['id']}/events")
    assert sub.status == 401


def test_rolled_back_change_publishes_nothing(api, world):
    from django.db import transaction
    from django_tenants.utils import schema_context

    from platform_core.auth import Actor
    from tenant_apps.boards import services
    from tenant_apps.boards.models import Task

    board, _, _, task = _board_with_task(api, world.a)
    sub = Subscriber(world.a.host, f"/api/v1/boards/{board['id']}/events", world.token(world.a.owner))
    actor = Actor(user_id=world.a.owner.id, email="", name="", org_id=world.a.org.id, role="owner")
    try:
        with schema_context(world.a.org.schema_name):
            with pytest.raises(RuntimeError):
                with transaction.atomic():
                    services.task_complete(actor=actor, task=Task.objects.get(id=task["id"]))
                    raise RuntimeError("roll back")
        assert sub.events(wait=1.0) == []
    finally:
        sub.close()


def test_heartbeat_keeps_the_stream_open(api, world, settings):
    settings.LIVE_HEARTBEAT_SECONDS = 0.2
    board, _, _, _ = _board_with_task(api, world.a)
    sub = Subscriber(world.a.host, f"/api/v1/boards/{board['id']}/events", world.token(world.a.owner))
    try:
        time.sleep(0.7)
        beats = [sub.chunks.get_nowait() for _ in range(sub.chunks.qsize())]
        assert sum("keep-alive" in chunk for chunk in beats) >= 2
    finally:
        sub.close()
