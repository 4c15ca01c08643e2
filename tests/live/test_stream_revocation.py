"""A live stream ends within 2 seconds of its access ending (logout, session
revocation, removal, deactivation, suspension, deletion) and delivers nothing
committed after that; streams per user are capped; another organization's
streams are untouched by any of it."""

import time

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from tests.live.sse import Subscriber
from tests.support import PASSWORD, access_token_for

pytestmark = pytest.mark.django_db(transaction=True)

REVOKED_WITHIN = 2.0


def _board_with_task(api, org):
    owner = api(org, org.owner)
    board = owner.post("/boards", {"name": "Roadmap"}).json()
    todo = owner.post(f"/boards/{board['id']}/lists", {"name": "To do"}).json()
    task = owner.post("/tasks", {"list_id": todo["id"], "title": "Ship"}).json()
    return board, task


def _stream(org, board, token) -> Subscriber:
    sub = Subscriber(org.host, f"/api/v1/boards/{board['id']}/events", token)
    assert sub.status == 200
    return sub


def _change_after(api, org, task, title="Secret plan"):
    """A change committed after the revocation: must never reach the stream."""
    from platform_core.auth import Actor
    from tenant_apps.boards import services
    from tenant_apps.boards.models import Task

    actor = Actor(user_id=org.owner.id, email="", name="", org_id=org.org.id, role="owner")
    with schema_context(org.org.schema_name):
        services.task_update(actor=actor, task=Task.objects.get(id=task["id"]), title=title)


def _assert_revoked(sub: Subscriber, started: float) -> None:
    assert sub.ended(REVOKED_WITHIN), "the stream outlived the access"
    assert time.monotonic() - started < REVOKED_WITHIN + 0.5
    names = [name for name, _ in sub.events(wait=0.1)]
    assert names == ["access_revoked"], names


def _login(api, world, user) -> dict:
    r = api("root").post("/auth/token", {"email": user.email, "password": PASSWORD})
    assert r.status_code == 200, r.content
    return r.json()


@pytest.fixture
def other_org_stream(api, world):
    """A stream in the second organization that every test checks is untouched."""
    board, _ = _board_with_task(api, world.b)
    sub = _stream(world.b, board, world.token(world.b.member))
    yield sub
    assert not sub.ended(0), "another organization's stream was ended"
    sub.close()


def test_logout_ends_the_stream_and_later_changes_are_not_delivered(api, world, other_org_stream):
    board, task = _board_with_task(api, world.a)
    pair = _login(api, world, world.a.member)
    sub = _stream(world.a, board, pair["access"])
    started = time.monotonic()
    r = api("root").post("/auth/logout", {"refresh": pair["refresh"]},
                         HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert r.status_code == 204
    _change_after(api, world.a, task)
    _assert_revoked(sub, started)


def test_refresh_token_reuse_revokes_the_session_and_its_stream(api, world, other_org_stream):
    board, task = _board_with_task(api, world.a)
    pair = _login(api, world, world.a.member)
    sub = _stream(world.a, board, pair["access"])
    root = api("root")
    assert root.post("/auth/token/refresh", {"refresh": pair["refresh"]}).status_code == 200
    started = time.monotonic()
    assert root.post("/auth/token/refresh", {"refresh": pair["refresh"]}).status_code == 401  # reuse
    _change_after(api, world.a, task)
    _assert_revoked(sub, started)


def test_removal_ends_the_stream(api, world, other_org_stream):
    board, task = _board_with_task(api, world.a)
    sub = _stream(world.a, board, world.token(world.a.member))
    started = time.monotonic()
    r = api(world.a, world.a.owner).delete(f"/members/{world.a.member.id}")
    assert r.status_code == 204
    _change_after(api, world.a, task)
    _assert_revoked(sub, started)


def test_deactivation_ends_the_stream(api, world, other_org_stream):
    from shared_apps.accounts.services import user_deactivate

    board, task = _board_with_task(api, world.a)
    sub = _stream(world.a, board, world.token(world.a.admin))
    started = time.monotonic()
    user_deactivate(user=world.a.admin)
    _change_after(api, world.a, task)
    _assert_revoked(sub, started)


def test_suspension_ends_the_stream(api, world):
    board, task = _board_with_task(api, world.a)
    board_b, _ = _board_with_task(api, world.b)
    sub = _stream(world.a, board, world.token(world.a.owner))
    sub_b = _stream(world.b, board_b, world.token(world.b.owner))
    try:
        started = time.monotonic()
        r = api("root", world.operator).post(f"/platform/orgs/{world.a.org.slug}/suspend")
        assert r.status_code == 200, r.content
        _assert_revoked(sub, started)
        assert not sub_b.ended(0.5), "suspending one organization ended another's stream"
    finally:
        sub_b.close()


def test_deletion_ends_the_stream(api, world, other_org_stream):
    board, task = _board_with_task(api, world.a)
    sub = _stream(world.a, board, world.token(world.a.member))
    started = time.monotonic()
    r = api("root", world.operator).delete(f"/platform/orgs/{world.a.org.slug}")
    assert r.status_code == 204, r.content
    _assert_revoked(sub, started)


def test_periodic_recheck_ends_a_stream_whose_revocation_message_was_lost(api, world, settings, other_org_stream):
    """A session revoked behind the signals' back (as if the revocation message
    were lost with Redis): the periodic re-check still ends the stream."""
    from platform_core.cache import cache_delete_many, session_key
    from shared_apps.accounts.models import AuthSession

    settings.LIVE_RECHECK_SECONDS = 1.0
    board, task = _board_with_task(api, world.a)
    session = AuthSession.objects.create(user=world.a.member)
    sub = _stream(world.a, board, access_token_for(world.a.member, session.id))
    started = time.monotonic()
    AuthSession.objects.filter(id=session.id).update(revoked_at=timezone.now())  # no signal, no message
    cache_delete_many([session_key(session.id)])
    _assert_revoked(sub, started)


def test_a_change_that_keeps_access_keeps_the_stream(api, world):
    """Promotion is a membership change too: the stream re-checks and stays."""
    board, task = _board_with_task(api, world.a)
    sub = _stream(world.a, board, world.token(world.a.member))
    try:
        r = api(world.a, world.a.owner).patch(f"/members/{world.a.member.id}", {"role": "admin"})
        assert r.status_code == 200, r.content
        assert not sub.ended(1.5)
        _change_after(api, world.a, task, title="Still visible")
        assert [name for name, _ in sub.events(wait=1.0)] == ["task.updated"]
    finally:
        sub.close()


def test_streams_per_user_are_capped(api, world, settings):
    settings.LIVE_MAX_STREAMS_PER_USER = 2
    board, _ = _board_with_task(api, world.a)
    token = world.token(world.a.member)
    first, second = _stream(world.a, board, token), _stream(world.a, board, token)
    try:
        third = Subscriber(world.a.host, f"/api/v1/boards/{board['id']}/events", token)
        assert third.status == 429
        assert b"rate_limited" in third.body
        # Another user is not affected.
        _stream(world.a, board, world.token(world.a.owner)).close()
        first.close()
        fourth = _stream(world.a, board, token)
        fourth.close()
    finally:
        second.close()
