"""Invitations over HTTP: create, list, revoke, accept; permissions; isolation
between organizations. (Delivery by email: test_invite_delivery.py.)"""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from tests.invites.helpers import invite, sha256, signed_in, token_of
from tests.support import ApiClient, add_member, make_user, unique_email

pytestmark = pytest.mark.django_db

INVITE_FIELDS = {"id", "email", "role", "status", "expires_at", "created_at", "invited_by"}


def _invite_row(org, invite_id):
    from tenant_apps.invites.models import Invite

    with tenant_context(org):
        return Invite.objects.get(id=invite_id)


def _events(org, action, target_id):
    from tenant_apps.audit.models import AuditEvent

    with tenant_context(org):
        return list(AuditEvent.objects.filter(action=action, target_id=target_id))


def _accept(world, org, user, token):
    return ApiClient(world.host(org), token=signed_in(user)).post("/invites/accept", {"token": token})


# --- create ---------------------------------------------------------------------------------


def test_create_invite_returns_it_without_token(api, world):
    from platform_core.models import OutboxJob

    email = unique_email("New")
    r = invite(api, world.a, world.a.admin, email, "admin")
    assert r.status_code == 201, r.content
    body = r.json()
    assert set(body) == INVITE_FIELDS
    assert body["email"] == email.lower() and body["role"] == "admin" and body["status"] == "pending"
    assert body["invited_by"] == str(world.a.admin.id)
    expires = timezone.datetime.fromisoformat(body["expires_at"])
    assert abs(expires - (timezone.now() + timedelta(days=7))) < timedelta(minutes=1)

    token = token_of(body["id"])
    assert len(token) >= 43 and token not in r.content.decode()
    row = _invite_row(world.a.org, body["id"])
    assert row.token_hash == sha256(token)
    assert token not in str([getattr(row, f.attname) for f in row._meta.fields])  # stored only as a hash
    job = OutboxJob.objects.get(kwargs__invite_id=body["id"])
    assert (job.schema_name, job.queue, job.done_at) == (world.a.org.schema_name, "emails", None)
    [event] = _events(world.a.org, "invite.created", row.id)
    assert event.actor_id == world.a.admin.id and event.changes["role"] == {"from": None, "to": "admin"}


def test_invite_ttl_comes_from_settings(api, world, settings):
    settings.INVITE_TTL_DAYS = 2
    body = invite(api, world.a, world.a.owner, unique_email()).json()
    expires = timezone.datetime.fromisoformat(body["expires_at"])
    assert abs(expires - (timezone.now() + timedelta(days=2))) < timedelta(minutes=1)


@pytest.mark.parametrize(
    "who,role,status",
    [
        ("owner", "owner", 201),
        ("owner", "admin", 201),
        ("admin", "admin", 201),
        ("admin", "member", 201),
        ("admin", "owner", 403),  # admins may not make owners
        ("member", "member", 403),
    ],
)
def test_who_may_invite_whom(api, world, who, role, status):
    r = invite(api, world.a, world.a.users()[who], unique_email(), role)
    assert r.status_code == status, r.content


def test_outsiders_and_other_orgs_members_cannot_invite(api, world):
    assert invite(api, world.a, world.outsider, unique_email()).status_code == 403
    assert invite(api, world.a, world.b.owner, unique_email()).status_code == 403
    assert api(world.a).post("/invites", {"email": unique_email(), "role": "member"}).status_code == 401


@pytest.mark.parametrize(
    "body",
    [{"email": "not-an-email", "role": "member"}, {"email": "a@example.com", "role": "boss"}, {"role": "member"}],
)
def test_invalid_invite_is_422(api, world, body):
    r = api(world.a, world.a.owner).post("/invites", body)
    assert r.status_code == 422 and r.json()["code"] == "validation_error"


def test_inviting_a_member_is_409(api, world):
    r = invite(api, world.a, world.a.owner, world.a.member.email.upper())
    assert r.status_code == 409 and r.json()["code"] == "already_member"
    # a member of B is not a member of A
    assert invite(api, world.a, world.a.owner, world.b.member.email).status_code == 201


def test_reinviting_replaces_the_pending_invite(api, world, settings):
    settings.INVITE_RESEND_COOLDOWN = 0  # re-invite at once (the cooldown: test_invite_limits.py)
    email = unique_email()
    first = invite(api, world.a, world.a.owner, email, "member").json()
    second = invite(api, world.a, world.a.admin, email.upper(), "admin").json()
    assert second["id"] != first["id"]
    assert _invite_row(world.a.org, first["id"]).status == "revoked"
    assert _invite_row(world.a.org, first["id"]).revoke_reason == "replaced"
    listed = api(world.a, world.a.owner).get("/invites", {"status": "pending"}).json()["items"]
    assert [i["id"] for i in listed if i["email"] == email] == [second["id"]]
    [event] = _events(world.a.org, "invite.created", second["id"])
    assert event.changes["replaced_invite_ids"] == [first["id"]]
    # the old token is dead, the new one works
    user = make_user(email)
    assert _accept(world, world.a, user, token_of(first["id"])).status_code == 410
    r = _accept(world, world.a, user, token_of(second["id"]))
    assert r.status_code == 200 and r.json()["role"] == "admin"


# --- list -----------------------------------------------------------------------------------


def test_list_shows_pending_and_past_invites_with_status(api, world):
    from tenant_apps.invites.models import Invite

    owner = api(world.a, world.a.owner)
    ids = {name: invite(api, world.a, world.a.owner, unique_email(name)).json()["id"] for name in ("p", "r", "e", "a")}
    assert owner.delete(f"/invites/{ids['r']}").status_code == 204
    with tenant_context(world.a.org):
        Invite.objects.filter(id=ids["e"]).update(expires_at=timezone.now() - timedelta(seconds=1))
        email_a = Invite.objects.get(id=ids["a"]).email
    assert _accept(world, world.a, make_user(email_a), token_of(ids["a"])).status_code == 200

    r = owner.get("/invites", {"limit": 200})
    assert r.status_code == 200
    items = {i["id"]: i for i in r.json()["items"]}
    assert {name: items[i]["status"] for name, i in ids.items()} == {
        "p": "pending", "r": "revoked", "e": "expired", "a": "accepted",
    }
    assert all(set(i) == INVITE_FIELDS for i in items.values())
    assert "token" not in r.content.decode()
    # newest first
    ordered = [i["id"] for i in r.json()["items"] if i["id"] in ids.values()]
    assert ordered == [ids["a"], ids["e"], ids["r"], ids["p"]]
    for status in ("pending", "revoked", "expired", "accepted"):
        got = {i["id"] for i in owner.get("/invites", {"status": status, "limit": 200}).json()["items"]}
        assert {name for name, i in ids.items() if i in got} == {status[0]}


def test_list_is_paginated(api, world):
    owner = api(world.a, world.a.owner)
    made = [invite(api, world.a, world.a.owner, unique_email()).json()["id"] for _ in range(3)]
    seen, cursor = [], None
    while True:
        page = owner.get("/invites", {"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        assert len(page["items"]) <= 2
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) and set(made) <= set(seen)


def test_list_needs_a_manager(api, world):
    assert api(world.a, world.a.member).get("/invites").status_code == 403
    assert api(world.a, world.a.admin).get("/invites").status_code == 200
    assert api(world.a, world.b.owner).get("/invites").status_code == 403


def test_invites_of_b_are_invisible_and_untouchable_from_a(api, world):
    b_invite = invite(api, world.b, world.b.owner, unique_email()).json()
    a_items = api(world.a, world.a.owner).get("/invites", {"limit": 200}).json()["items"]
    assert b_invite["id"] not in {i["id"] for i in a_items}
    r = api(world.a, world.a.owner).delete(f"/invites/{b_invite['id']}")
    assert r.status_code == 404
    assert _invite_row(world.b.org, b_invite["id"]).status == "pending"
    with tenant_context(world.a.org):
        assert connection.schema_name == world.a.org.schema_name
        from tenant_apps.invites.models import Invite

        assert not Invite.objects.filter(id=b_invite["id"]).exists()


# --- revoke ---------------------------------------------------------------------------------


def test_revoke(api, world):
    created = invite(api, world.a, world.a.owner, unique_email()).json()
    admin = api(world.a, world.a.admin)
    assert api(world.a, world.a.member).delete(f"/invites/{created['id']}").status_code == 403
    r = admin.delete(f"/invites/{created['id']}")
    assert r.status_code == 204 and r.content == b""
    assert _invite_row(world.a.org, created["id"]).status == "revoked"
    [event] = _events(world.a.org, "invite.revoked", created["id"])
    assert event.actor_id == world.a.admin.id and event.changes["status"] == {"from": "pending", "to": "revoked"}
    # again: nothing changes, no second event
    assert admin.delete(f"/invites/{created['id']}").status_code == 204
    assert len(_events(world.a.org, "invite.revoked", created["id"])) == 1
    assert admin.delete("/invites/00000000-0000-0000-0000-000000000000").status_code == 404


def test_accepted_invite_cannot_be_revoked(api, world):
    email = unique_email()
    created = invite(api, world.a, world.a.owner, email).json()
    assert _accept(world, world.a, make_user(email), token_of(created["id"])).status_code == 200
    r = api(world.a, world.a.owner).delete(f"/invites/{created['id']}")
    assert r.status_code == 409 and r.json()["code"] == "invite_accepted"


# --- accept ---------------------------------------------------------------------------------


def test_accept_joins_the_organization(api, world):
    from shared_apps.orgs.models import Membership

    email = unique_email("Joiner")
    created = invite(api, world.a, world.a.owner, email, "admin").json()
    user = make_user(email.upper())  # emails compare case-insensitively
    token = signed_in(user)
    client = ApiClient(world.a.host, token=token)
    assert client.get("/org").status_code == 403  # not a member yet

    r = client.post("/invites/accept", {"token": token_of(created["id"])})
    assert r.status_code == 200, r.content
    org = world.a.org
    assert r.json() == {
        "org": {"id": str(org.id), "slug": "acme", "name": org.name, "domain": "acme.localhost"},
        "role": "admin",
    }
    assert Membership.objects.get(organization=org, user=user).role == "admin"
    me = client.get("/org")
    assert me.status_code == 200 and me.json()["role"] == "admin"
    row = _invite_row(org, created["id"])
    assert row.status == "accepted" and row.accepted_by == user.id
    [event] = _events(org, "invite.accepted", row.id)
    assert event.actor_id == user.id and event.changes == {  # {field: {from, to}} like every event
        "status": {"from": "pending", "to": "accepted"},
        "user_id": {"from": None, "to": str(user.id)},
        "role": {"from": None, "to": "admin"},
    }
    # B knows nothing of it
    assert not Membership.objects.filter(organization=world.b.org, user=user).exists()
    assert ApiClient(world.b.host, token=token).get("/org").status_code == 403

    again = client.post("/invites/accept", {"token": token_of(created["id"])})
    assert again.status_code == 410 and again.json()["code"] == "invite_accepted"


def test_accept_writes_one_event_through_the_one_membership_writer(api, world):
    """The membership comes from shared_apps.orgs.services.member_add (the one
    writer); the request writes exactly one event, `invite.accepted`, which
    carries the member and role (the contract: one event per mutation); the
    other organization's log is untouched."""
    from shared_apps.orgs.models import Membership
    from tenant_apps.audit.models import AuditEvent

    email = unique_email("joiner")
    created = invite(api, world.a, world.a.owner, email, "admin").json()
    user = make_user(email)
    with tenant_context(world.b.org):
        b_before = AuditEvent.objects.count()

    r = ApiClient(world.a.host, token=signed_in(user)).post(
        "/invites/accept", {"token": token_of(created["id"])}, HTTP_X_REQUEST_ID="req-join-1"
    )
    assert r.status_code == 200, r.content
    assert Membership.objects.get(organization=world.a.org, user=user).role == "admin"
    with tenant_context(world.a.org):
        new = list(AuditEvent.objects.filter(request_id="req-join-1").order_by("at", "id"))
    assert [(e.action, e.target_type, str(e.target_id)) for e in new] == [
        ("invite.accepted", "invite", created["id"]),
    ]
    assert new[0].actor_id == user.id
    assert new[0].changes["user_id"] == {"from": None, "to": str(user.id)}
    assert new[0].changes["role"] == {"from": None, "to": "admin"}
    with tenant_context(world.b.org):
        assert AuditEvent.objects.count() == b_before
        assert not AuditEvent.objects.filter(target_id=user.id).exists()


def test_accept_with_another_email_is_403(api, world):
    from shared_apps.orgs.models import Membership

    created = invite(api, world.a, world.a.owner, unique_email()).json()
    r = _accept(world, world.a, world.outsider, token_of(created["id"]))
    assert r.status_code == 403 and r.json()["code"] == "invite_email_mismatch"
    assert not Membership.objects.filter(organization=world.a.org, user=world.outsider).exists()
    assert _invite_row(world.a.org, created["id"]).status == "pending"


def test_bad_token_is_404_and_needs_sign_in(api, world):
    r = _accept(world, world.a, world.outsider, "x" * 43)
    assert r.status_code == 404 and r.json()["code"] == "invite_not_found"
    assert api(world.a).post("/invites/accept", {"token": "x" * 43}).status_code == 401
    assert _accept(world, world.a, world.outsider, "").status_code == 422


@pytest.mark.parametrize("how,code", [("revoked", "invite_revoked"), ("expired", "invite_expired")])
def test_revoked_or_expired_invite_is_410(api, world, how, code):
    from tenant_apps.invites.models import Invite

    email = unique_email()
    created = invite(api, world.a, world.a.owner, email).json()
    if how == "revoked":
        api(world.a, world.a.owner).delete(f"/invites/{created['id']}")
    else:
        with tenant_context(world.a.org):
            Invite.objects.filter(id=created["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    r = _accept(world, world.a, make_user(email), token_of(created["id"]))
    assert r.status_code == 410 and r.json()["code"] == code


def test_token_of_a_does_nothing_on_b(api, world):
    from shared_apps.orgs.models import Membership

    email = unique_email()
    created = invite(api, world.a, world.a.owner, email).json()
    user = make_user(email)
    r = _accept(world, world.b, user, token_of(created["id"]))
    assert r.status_code == 404
    assert not Membership.objects.filter(user=user).exists()
    assert _invite_row(world.a.org, created["id"]).status == "pending"


def test_accept_when_already_a_member_is_409(api, world):
    email = unique_email()
    created = invite(api, world.a, world.a.owner, email, "admin").json()
    user = make_user(email)
    add_member(world.a.org, user, "member")  # joined some other way meanwhile
    r = _accept(world, world.a, user, token_of(created["id"]))
    assert r.status_code == 409 and r.json()["code"] == "already_member"
    assert _invite_row(world.a.org, created["id"]).status == "pending"
    assert _events(world.a.org, "invite.accepted", created["id"]) == []


def test_list_costs_the_same_queries_for_any_number_of_invites(api, world):
    from django.test.utils import CaptureQueriesContext

    owner = api(world.a, world.a.owner)
    invite(api, world.a, world.a.owner, unique_email())
    owner.get("/invites")  # warm the host and role caches
    with CaptureQueriesContext(connection) as one:
        assert owner.get("/invites").status_code == 200
    for _ in range(4):
        invite(api, world.a, world.a.owner, unique_email())
    owner.get("/invites")
    with CaptureQueriesContext(connection) as five:
        assert len(owner.get("/invites").json()["items"]) >= 5
    assert len(five) == len(one) <= 2, [q["sql"] for q in five]
