"""The audit log: one event per successful mutation, in its transaction;
append-only in the database; `GET /audit` filters, order, pages and access;
organizations never see each other's events. Platform events (public schema)
are append-only too."""

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from tests.invites.helpers import invite, signed_in, token_of
from tests.support import ApiClient, add_member, make_user, unique_email

pytestmark = pytest.mark.django_db


def _events(org, **filters):
    from tenant_apps.audit.models import AuditEvent

    with tenant_context(org):
        return list(AuditEvent.objects.filter(**filters).order_by("at", "id"))


def _count(org) -> int:
    from tenant_apps.audit.models import AuditEvent

    with tenant_context(org):
        return AuditEvent.objects.count()


# --- one event per mutation ----------------------------------------------------------------


def _rename(api, world):
    r = api(world.a, world.a.admin).patch("/org", {"name": "Acme Renamed"}, HTTP_X_REQUEST_ID="req-rename-1")
    return r, world.a.admin, "org.updated", "org", world.a.org.id, {"name": {"from": "Acme", "to": "Acme Renamed"}}


def _role_change(api, world):
    user = make_user(unique_email())
    add_member(world.a.org, user, "member")
    r = api(world.a, world.a.owner).patch(f"/members/{user.id}", {"role": "admin"}, HTTP_X_REQUEST_ID="req-role-1")
    return r, world.a.owner, "member.role_changed", "member", user.id, {"role": {"from": "member", "to": "admin"}}


def _removal(api, world):
    user = make_user(unique_email())
    add_member(world.a.org, user, "member")
    r = api(world.a, world.a.admin).delete(f"/members/{user.id}", HTTP_X_REQUEST_ID="req-remove-1")
    return r, world.a.admin, "member.removed", "member", user.id, {"role": {"from": "member", "to": None}}


def _invite_create(api, world):
    email = unique_email()
    r = api(world.a, world.a.owner).post("/invites", {"email": email, "role": "member"}, HTTP_X_REQUEST_ID="req-inv-1")
    return r, world.a.owner, "invite.created", "invite", r.json()["id"], {"email": {"from": None, "to": email}}


def _invite_revoke(api, world):
    created = invite(api, world.a, world.a.owner, unique_email()).json()
    r = api(world.a, world.a.admin).delete(f"/invites/{created['id']}", HTTP_X_REQUEST_ID="req-rev-1")
    return r, world.a.admin, "invite.revoked", "invite", created["id"], {"status": {"from": "pending", "to": "revoked"}}


def _invite_accept(api, world):
    email = unique_email()
    created = invite(api, world.a, world.a.owner, email, "admin").json()
    user = make_user(email)
    client = ApiClient(world.a.host, token=signed_in(user))
    r = client.post("/invites/accept", {"token": token_of(created["id"])}, HTTP_X_REQUEST_ID="req-acc-1")
    return r, user, "invite.accepted", "invite", created["id"], {
        "status": {"from": "pending", "to": "accepted"},
        "user_id": {"from": None, "to": str(user.id)},
        "role": {"from": None, "to": "admin"},
    }


MUTATIONS = [_rename, _role_change, _removal, _invite_create, _invite_revoke, _invite_accept]


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda f: f.__name__.strip("_"))
def test_each_mutation_writes_exactly_one_event(api, world, mutation):
    start = timezone.now()
    before_a, before_b = _count(world.a.org), _count(world.b.org)
    r, actor, action, target_type, target_id, changes = mutation(api, world)
    assert r.status_code in (200, 201, 204), r.content
    request_id = r["X-Request-ID"]
    new = _events(world.a.org, at__gte=start, request_id=request_id)
    # exactly one, as the contract says (acceptance: `invite.accepted` records the membership)
    assert [e.action for e in new] == [action]
    event = new[0]
    assert (event.actor_id, event.action, event.target_type, str(event.target_id)) == (
        actor.id, action, target_type, str(target_id),
    )
    for key, value in changes.items():
        assert event.changes[key] == value
    assert event.request_id == request_id and request_id.startswith("req-")  # ours, echoed
    assert event.ip == "127.0.0.1"
    # the mutation (plus, for the invite mutations, its set-up invite) wrote nothing else
    setup_events = 1 if mutation in (_invite_revoke, _invite_accept) else 0
    assert _count(world.a.org) == before_a + len(new) + setup_events
    assert _count(world.b.org) == before_b


def test_request_id_is_generated_when_absent(api, world):
    r = api(world.a, world.a.owner).patch("/org", {"name": "Acme Two"})
    [event] = _events(world.a.org, request_id=r["X-Request-ID"])
    assert event.action == "org.updated" and len(event.request_id) == 32


# --- failed or rolled back: no event ------------------------------------------------------------


def test_failed_mutations_leave_no_event(api, world):
    created = invite(api, world.a, world.a.owner, unique_email()).json()
    before = _count(world.a.org)
    attempts = [
        (api(world.a, world.a.member).patch("/org", {"name": "Nope"}), 403),
        (api(world.a, world.a.owner).patch(f"/members/{world.a.owner.id}", {"role": "member"}), 409),  # last owner
        (api(world.a, world.a.admin).patch(f"/members/{world.a.owner.id}", {"role": "member"}), 403),
        (api(world.a, world.a.owner).patch("/org", {"name": ""}), 422),
        (api(world.a, world.a.owner).post("/invites", {"email": world.a.member.email, "role": "member"}), 409),
        (api(world.a, world.a.admin).post("/invites", {"email": unique_email(), "role": "owner"}), 403),
        (ApiClient(world.a.host, token=signed_in(world.outsider)).post(
            "/invites/accept", {"token": token_of(created["id"])}), 403),
        (api(world.a, world.a.member).delete(f"/invites/{created['id']}"), 403),
    ]
    assert [r.status_code for r, _ in attempts] == [status for _, status in attempts]
    assert _count(world.a.org) == before


def test_rolled_back_mutation_leaves_no_event(api, world, monkeypatch):
    """The event is written inside the mutation's transaction: if anything
    fails after it, the change and the event disappear together."""
    import tenant_apps.audit.receivers as org_services  # records shared_apps' org_event
    import tenant_apps.invites.services as invite_services
    from platform_core.models import OutboxJob
    from shared_apps.orgs.models import Organization
    from tenant_apps.invites.models import Invite

    real = org_services.audit_record

    def record_then_fail(**kwargs):
        real(**kwargs)
        raise RuntimeError("boom after the audit event")

    before, outbox_before = _count(world.a.org), OutboxJob.objects.count()
    monkeypatch.setattr(org_services, "audit_record", record_then_fail)
    r = api(world.a, world.a.owner).patch("/org", {"name": "Never"})
    assert r.status_code == 500
    assert Organization.objects.get(id=world.a.org.id).name == "Acme"

    real_defer = invite_services.defer

    def defer_fails(*args, **kwargs):  # the outbox row is written, then the mutation fails
        real_defer(*args, **kwargs)
        raise RuntimeError("boom after the audit event and the outbox row")

    monkeypatch.setattr(invite_services, "defer", defer_fails)
    email = unique_email()
    r = api(world.a, world.a.owner).post("/invites", {"email": email, "role": "member"})
    assert r.status_code == 500
    with tenant_context(world.a.org):
        assert not Invite.objects.filter(email=email).exists()
    assert OutboxJob.objects.count() == outbox_before
    assert _count(world.a.org) == before


# --- append-only in the database --------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditevent SET action = 'forged' WHERE id = %s",
        "DELETE FROM audit_auditevent WHERE id = %s",
    ],
)
def test_audit_events_are_append_only(api, world, sql):
    r = api(world.a, world.a.owner).patch("/org", {"name": "Acme Audited"})
    [event] = _events(world.a.org, request_id=r["X-Request-ID"])
    with tenant_context(world.a.org):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [event.id])
    [again] = _events(world.a.org, id=event.id)
    assert again.action == "org.updated"


def test_platform_events_are_append_only(api, world):
    from shared_apps.orgs.models import PlatformEvent

    user = make_user(unique_email())
    r = api("root", user).post("/orgs", {"name": "Audited", "slug": "audited-org"}, HTTP_X_REQUEST_ID="req-org-1")
    assert r.status_code == 201, r.content
    [event] = PlatformEvent.objects.filter(action="org.created", organization_id=r.json()["id"])
    assert event.actor_id == user.id and event.request_id == "req-org-1"
    assert event.changes["slug"] == "audited-org"
    with schema_context("public"):
        for sql in ("UPDATE orgs_platformevent SET action = 'x' WHERE id = %s",
                    "DELETE FROM orgs_platformevent WHERE id = %s"):
            with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as c:
                c.execute(sql, [event.id])
    assert PlatformEvent.objects.get(id=event.id).action == "org.created"


# --- GET /audit ------------------------------------------------------------------------------------


@pytest.fixture
def history(api, world):
    """Five events on A (in this order) and one on B, all after `start`."""
    start = timezone.now() - timedelta(milliseconds=1)
    user = make_user(unique_email())
    add_member(world.a.org, user, "member")
    owner, admin = api(world.a, world.a.owner), api(world.a, world.a.admin)
    assert owner.patch("/org", {"name": "Acme 1"}).status_code == 200
    assert admin.patch("/org", {"name": "Acme 2"}).status_code == 200
    middle = timezone.now()
    assert owner.patch(f"/members/{user.id}", {"role": "admin"}).status_code == 200
    invite_id = invite(api, world.a, world.a.admin, unique_email()).json()["id"]
    assert admin.delete(f"/invites/{invite_id}").status_code == 204
    assert api(world.b, world.b.owner).patch("/org", {"name": "Globex 1"}).status_code == 200
    return {"start": start, "middle": middle, "user": user, "invite_id": invite_id}


def _audit(api, world, user=None, **params):
    r = api(world.a, user or world.a.owner).get("/audit", {"limit": 200, **params})
    assert r.status_code == 200, r.content
    return r.json()


def test_audit_list_is_newest_first_with_the_contract_fields(api, world, history):
    items = _audit(api, world, since=history["start"].isoformat())["items"]
    assert [i["action"] for i in items] == [
        "invite.revoked", "invite.created", "member.role_changed", "org.updated", "org.updated",
    ]
    assert set(items[0]) >= {"id", "at", "actor_id", "action", "target_type", "target_id", "changes", "request_id"}
    ats = [i["at"] for i in items]
    assert ats == sorted(ats, reverse=True)


def test_audit_filters(api, world, history):
    since = history["start"].isoformat()

    def actions(**params):
        return [i["action"] for i in _audit(api, world, since=since, **params)["items"]]

    assert actions(actor_id=str(world.a.admin.id)) == ["invite.revoked", "invite.created", "org.updated"]
    assert actions(action="org.updated") == ["org.updated", "org.updated"]
    assert actions(target_type="member") == ["member.role_changed"]
    assert actions(target_id=str(history["user"].id)) == ["member.role_changed"]
    assert actions(target_type="invite", target_id=history["invite_id"]) == ["invite.revoked", "invite.created"]
    assert actions(until=history["middle"].isoformat()) == ["org.updated", "org.updated"]
    assert _audit(api, world, since=timezone.now().isoformat())["items"] == []
    assert api(world.a, world.a.owner).get("/audit", {"actor_id": "nope"}).status_code == 422


def test_audit_is_cursor_paginated(api, world, history):
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2, "since": history["start"].isoformat(), **({"cursor": cursor} if cursor else {})}
        page = api(world.a, world.a.owner).get("/audit", params).json()
        pages += 1
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert pages == 3 and len(seen) == len(set(seen)) == 5
    assert seen == [i["id"] for i in _audit(api, world, since=history["start"].isoformat())["items"]]
    r = api(world.a, world.a.owner).get("/audit", {"cursor": "garbage"})
    assert r.status_code == 422


def test_audit_is_for_owners_and_admins_only(api, world, history):
    assert api(world.a, world.a.admin).get("/audit").status_code == 200
    r = api(world.a, world.a.member).get("/audit")
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert api(world.a, world.outsider).get("/audit").status_code == 403
    assert api(world.a, world.b.owner).get("/audit").status_code == 403
    assert api(world.a).get("/audit").status_code == 401


def test_b_events_never_appear_on_a(api, world, history):
    [b_event] = _events(world.b.org, at__gte=history["start"], action="org.updated")
    a_items = _audit(api, world, since=history["start"].isoformat())["items"]
    assert b_event.id not in {i["id"] for i in a_items}
    assert all(i["changes"].get("name", {}).get("to") != "Globex 1" for i in a_items)
    b_items = api(world.b, world.b.owner).get("/audit", {"since": history["start"].isoformat()}).json()["items"]
    assert [i["id"] for i in b_items] == [str(b_event.id)]
    # filtering by A's ids on B finds nothing
    r = api(world.b, world.b.owner).get("/audit", {"target_id": history["invite_id"]})
    assert r.json()["items"] == []


def test_audit_list_costs_the_same_queries_for_any_page_size(api, world, history):
    from django.test.utils import CaptureQueriesContext

    owner = api(world.a, world.a.owner)
    owner.get("/audit")  # warm the host and role caches
    with CaptureQueriesContext(connection) as small:
        assert len(owner.get("/audit", {"limit": 1}).json()["items"]) == 1
    with CaptureQueriesContext(connection) as large:
        assert len(owner.get("/audit", {"limit": 5}).json()["items"]) == 5
    assert len(large) == len(small) <= 2, [q["sql"] for q in large]
