"""Side effects are explicit: audit_record derives its target and records only;
the services schedule board effects (rendered detail retired, live event
published) through tenant_apps.boards.effects.boards_changed, after commit,
for every board a write touches; nothing on rollback.

Real PostgreSQL and Redis; the live streams go through the whole ASGI stack
(tests/live/sse.py). Organization B's board and stream prove isolation."""

import pytest
from django.db import connection, transaction
from django_tenants.utils import schema_context

from platform_core.auth import Actor
from platform_core.cache import board_detail_cache
from tests.live.sse import Subscriber

pytestmark = pytest.mark.django_db(transaction=True)


def _actor(org_world) -> Actor:
    return Actor(
        user_id=org_world.owner.id, email="", name="", org_id=org_world.org.id, role="owner"
    )


def _version(org_world, board_id) -> int:
    return board_detail_cache.get(org_world.org.schema_name, board_id)[0] or 0


def _board(api, org_world, name: str) -> dict:
    owner = api(org_world, org_world.owner)
    board = owner.post("/boards", {"name": name}).json()
    assert owner.get(f"/boards/{board['id']}").status_code == 200  # a rendered copy is cached
    return board


def test_audit_record_derives_type_id_and_board_from_the_target(api, world):
    """Every audited model says its type, id and board: the caller passes the instance only."""
    from shared_apps.orgs.models import Membership, Organization
    from tenant_apps.audit.services import audit_record
    from tenant_apps.boards import services
    from tenant_apps.invites.models import Invite

    actor = _actor(world.a)
    with schema_context(world.a.org.schema_name):
        board = services.board_create(actor=actor, name="Targets")
        task_list = services.list_create(actor=actor, board=board, name="L")
        task = services.task_create(actor=actor, task_list=task_list, title="T")
        comment = services.comment_create(actor=actor, task=task, body="c")
        invite = Invite(email="someone@example.com", role="member")  # only its id is read
        member = Membership.objects.get(organization=world.a.org, user=world.a.member)
        org = Organization.objects.get(id=world.a.org.id)
        expected = [
            (board, "board", board.id, board.id),
            (task_list, "list", task_list.id, board.id),
            (task, "task", task.id, board.id),
            (comment, "comment", comment.id, board.id),
            (invite, "invite", invite.id, None),
            (member, "member", world.a.member.id, None),
            (org, "org", world.a.org.id, None),
        ]
        with transaction.atomic():
            for target, kind, target_id, board_id in expected:
                event = audit_record(
                    actor=actor, action="x.tested", target=target, changes={"k": 1}
                )
                assert (event.target_type, event.target_id, event.board_id) == (
                    kind,
                    target_id,
                    board_id,
                )
                assert event.actor_id == world.a.owner.id and event.changes == {"k": 1}
            transaction.set_rollback(True)
        with pytest.raises(TypeError), transaction.atomic():
            audit_record(actor=None, action="x.tested", target=object())


def test_audit_record_records_only(world, django_capture_on_commit_callbacks):
    """No side effect hides in audit_record: it schedules nothing after commit."""
    from tenant_apps.audit.services import audit_record
    from tenant_apps.boards.models import Board

    with schema_context(world.a.org.schema_name):
        board = Board.objects.create(name="Quiet", created_by=world.a.owner.id)
        with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
            audit_record(actor=None, action="board.updated", target=board, changes={})
        assert callbacks == []
        board.delete()


def test_a_write_touching_several_boards_retires_and_notifies_all_of_them(api, world):
    """boards_changed(schema, [b1, b2], event): after commit both boards' cached
    details are retired and both streams hear the event (once each); before
    commit nothing happens; organization B's board with the same id space
    hears nothing and keeps its cached copy."""
    from tenant_apps.audit.services import audit_record
    from tenant_apps.boards.effects import boards_changed
    from tenant_apps.boards.models import Board

    b1, b2 = _board(api, world.a, "One"), _board(api, world.a, "Two")
    other = _board(api, world.b, "Other org")
    versions = {b["id"]: _version(world.a, b["id"]) for b in (b1, b2)}
    other_version = _version(world.b, other["id"])
    token_a, token_b = world.token(world.a.member), world.token(world.b.owner)
    subs = [Subscriber(world.a.host, f"/api/v1/boards/{b['id']}/events", token_a) for b in (b1, b2)]
    sub_b = Subscriber(world.b.host, f"/api/v1/boards/{other['id']}/events", token_b)
    try:
        with schema_context(world.a.org.schema_name):
            with transaction.atomic():
                event = audit_record(
                    actor=_actor(world.a),
                    action="board.updated",
                    target=Board.objects.get(id=b1["id"]),
                    changes={"name": {"from": "One", "to": "One"}},
                )
                boards_changed(connection.schema_name, [b1["id"], b2["id"], b1["id"]], event)
                assert [_version(world.a, b["id"]) for b in (b1, b2)] == list(versions.values())
                assert subs[0].events(wait=0.3) == []  # not before commit
        for sub, board in zip(subs, (b1, b2), strict=True):
            assert _version(world.a, board["id"]) == versions[board["id"]] + 1
            heard = sub.events(wait=1.0, count=1) + sub.events(wait=0.3)
            assert [(name, payload["id"]) for name, payload in heard] == [
                ("board.updated", str(event.id))
            ]
        assert sub_b.events(wait=0.3) == []
        assert _version(world.b, other["id"]) == other_version
    finally:
        for sub in (*subs, sub_b):
            sub.close()


def test_a_rolled_back_write_retires_and_publishes_nothing(api, world):
    from tenant_apps.boards import services
    from tenant_apps.boards.models import Board

    board = _board(api, world.a, "Kept")
    version = _version(world.a, board["id"])
    sub = Subscriber(
        world.a.host, f"/api/v1/boards/{board['id']}/events", world.token(world.a.member)
    )
    try:
        with schema_context(world.a.org.schema_name), pytest.raises(RuntimeError):
            with transaction.atomic():
                services.board_update(
                    actor=_actor(world.a), board=Board.objects.get(id=board["id"]), name="Never"
                )
                raise RuntimeError("rolled back after the service")
        assert sub.events(wait=0.5) == []
        assert _version(world.a, board["id"]) == version
        detail = api(world.a, world.a.owner).get(f"/boards/{board['id']}").json()
        assert detail["name"] == "Kept"
    finally:
        sub.close()


@pytest.mark.parametrize("write", ["list_rename", "task_move", "comment_edit", "board_delete"])
def test_every_board_write_retires_the_cached_detail(api, world, write):
    """Each service names its board: the cached detail is never served stale
    (a service that forgot it would leave the old copy for up to 24 hours)."""
    owner = api(world.a, world.a.owner)
    board = owner.post("/boards", {"name": "Fresh"}).json()
    todo = owner.post(f"/boards/{board['id']}/lists", {"name": "To do"}).json()
    done = owner.post(f"/boards/{board['id']}/lists", {"name": "Done"}).json()
    task = owner.post("/tasks", {"list_id": todo["id"], "title": "Ship"}).json()
    comment = owner.post(f"/tasks/{task['id']}/comments", {"body": "hi"}).json()
    cached = owner.get(f"/boards/{board['id']}").json()
    assert owner.get(f"/boards/{board['id']}").json() == cached  # served from the cache
    version = _version(world.a, board["id"])
    response = {
        "list_rename": lambda: owner.patch(f"/lists/{todo['id']}", {"name": "Doing"}),
        "task_move": lambda: owner.post(f"/tasks/{task['id']}/move", {"list_id": done["id"]}),
        "comment_edit": lambda: owner.patch(f"/comments/{comment['id']}", {"body": "edited"}),
        "board_delete": lambda: owner.delete(f"/boards/{board['id']}"),
    }[write]()
    assert response.status_code in (200, 204), response.content
    assert _version(world.a, board["id"]) == version + 1
    after = owner.get(f"/boards/{board['id']}")
    if write == "board_delete":
        assert after.status_code == 404
    elif write != "comment_edit":
        assert after.json() != cached
