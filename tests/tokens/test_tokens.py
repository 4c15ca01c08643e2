"""API tokens (API.md "API tokens"): shown once and stored hashed, scopes
capping the owner's current role (the one permission matrix), expiry,
last-used time, revocation and owner removal on the very next request, audit
events naming the token; with a second organization in every test."""

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from tests.support import ApiClient, add_member, make_user, unique_email
from tests.tokens.helpers import make_token

pytestmark = pytest.mark.django_db


def _client(org_world, raw: str) -> ApiClient:
    return ApiClient(org_world.host, token=raw)


def _token_row(org_world, token_id):
    from tenant_apps.tokens.models import ApiToken

    with schema_context(org_world.org.schema_name):
        return ApiToken.objects.get(id=token_id)


def test_created_once_stored_hashed_and_usable(api, world):
    r = api(world.a, world.a.member).post("/tokens", {"name": "CI", "scopes": ["read", "write"], "expires_in_days": 30})
    assert r.status_code == 201, r.content
    body = r.json()
    raw = body["token"]
    assert raw.startswith("thk_") and len(raw) >= 40
    assert body["prefix"] == raw[:12] and body["scopes"] == ["read", "write"]
    assert set(body) == {"id", "name", "scopes", "prefix", "token", "expires_at", "created_at"}

    row = _token_row(world.a, body["id"])
    assert row.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in str(row.__dict__)

    listed = api(world.a, world.a.member).get("/tokens").json()["items"]
    assert [t["id"] for t in listed] == [body["id"]]
    assert "token" not in listed[0] and listed[0]["last_used_at"] is None

    me = _client(world.a, raw).get("/org")
    assert me.status_code == 200 and me.json()["role"] == "member"
    assert _token_row(world.a, body["id"]).last_used_at is not None


def test_a_token_works_on_its_own_organization_only(world):
    raw, _ = make_token(world.a, world.a.owner)
    assert _client(world.a, raw).get("/boards").status_code == 200
    r = _client(world.b, raw).get("/boards")
    assert r.status_code == 401, r.content  # not found in globex's schema: not a credential there
    r = ApiClient(world.root, token=raw).get("/me")
    assert r.status_code == 401


def test_another_organizations_token_id_is_404(api, world):
    _, token_id = make_token(world.a, world.a.member)
    r = api(world.b, world.b.owner).delete(f"/tokens/{token_id}")
    assert r.status_code == 404, r.content
    assert _token_row(world.a, token_id).revoked_at is None
    assert token_id not in {t["id"] for t in api(world.b, world.b.owner).get("/tokens?all=true").json()["items"]}


def test_scopes_cap_the_role(world):
    read_only, _ = make_token(world.a, world.a.owner, scopes=["read"])
    client = _client(world.a, read_only)
    assert client.get("/boards").status_code == 200
    r = client.post("/boards", {"name": "Nope"})
    assert r.status_code == 403 and r.json()["code"] == "insufficient_scope"
    r = client.get("/audit")
    assert r.status_code == 403 and r.json()["code"] == "insufficient_scope"

    # manage, but the owner is a member: the role still decides
    member_manage, _ = make_token(world.a, world.a.member, scopes=["manage", "read"])
    r = _client(world.a, member_manage).post("/boards", {"name": "Nope"})
    assert r.status_code == 403 and r.json()["code"] == "forbidden"


def test_a_token_cannot_create_a_token(world):
    raw, _ = make_token(world.a, world.a.owner)  # every scope
    r = _client(world.a, raw).post("/tokens", {"name": "child", "scopes": ["read"]})
    assert r.status_code == 403 and r.json()["code"] == "insufficient_scope"


def test_role_changes_apply_to_the_token_at_once(api, world):
    user = make_user(unique_email("tok"))
    add_member(world.a.org, user, "admin")
    raw, _ = make_token(world.a, user, scopes=["manage", "read"])
    assert _client(world.a, raw).post("/boards", {"name": "As admin"}).status_code == 201
    r = api(world.a, world.a.owner).patch(f"/members/{user.id}", {"role": "member"})
    assert r.status_code == 200, r.content
    assert _client(world.a, raw).post("/boards", {"name": "As member"}).status_code == 403


def test_revocation_bites_on_the_next_request(api, world):
    raw, token_id = make_token(world.a, world.a.member)
    client = _client(world.a, raw)
    assert client.get("/org").status_code == 200
    assert client.get("/org").status_code == 200  # cached (Redis and process memory)
    other_raw, _ = make_token(world.b, world.b.member)
    assert _client(world.b, other_raw).get("/org").status_code == 200

    r = api(world.a, world.a.member).delete(f"/tokens/{token_id}")
    assert r.status_code == 204, r.content
    r = client.get("/org")
    assert r.status_code == 401 and r.json()["code"] == "token_invalid"
    assert _client(world.b, other_raw).get("/org").status_code == 200  # globex untouched
    assert api(world.a, world.a.member).delete(f"/tokens/{token_id}").status_code == 404


def test_who_may_revoke_and_list_all(api, world):
    _, owners = make_token(world.a, world.a.owner)
    _, members = make_token(world.a, world.a.member)
    r = api(world.a, world.a.member).delete(f"/tokens/{owners}")
    assert r.status_code == 403
    assert api(world.a, world.a.member).get("/tokens?all=true").status_code == 403
    listed = {t["id"] for t in api(world.a, world.a.admin).get("/tokens?all=true").json()["items"]}
    assert {owners, members} <= listed
    assert api(world.a, world.a.admin).delete(f"/tokens/{members}").status_code == 204


def test_a_token_of_a_member_who_leaves_stops_working(api, world):
    user = make_user(unique_email("leaver"))
    add_member(world.a.org, user, "member")
    add_member(world.b.org, user, "member")
    raw, token_id = make_token(world.a, user)
    raw_b, _ = make_token(world.b, user)
    assert _client(world.a, raw).get("/org").status_code == 200

    r = api(world.a, user).delete(f"/members/{user.id}")
    assert r.status_code == 204, r.content
    assert _client(world.a, raw).get("/org").status_code == 401
    assert _token_row(world.a, token_id).revoked_at is not None
    assert _client(world.b, raw_b).get("/org").status_code == 200  # the other organization keeps its token


def test_a_removed_owner_of_a_token_is_401_even_before_revocation(world):
    from shared_apps.orgs.models import Membership

    user = make_user(unique_email("removed"))
    add_member(world.a.org, user, "member")
    raw, _ = make_token(world.a, user)
    assert _client(world.a, raw).get("/org").status_code == 200
    Membership.objects.filter(organization=world.a.org, user=user).delete()  # not through the service
    assert _client(world.a, raw).get("/org").status_code == 401


def test_expired_tokens_are_refused(world, monkeypatch):
    import time

    raw, token_id = make_token(world.a, world.a.member, expires_in_days=1)
    client = _client(world.a, raw)
    assert client.get("/org").status_code == 200  # now cached with its expiry
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 2 * 86400)
    assert client.get("/org").status_code == 401
    monkeypatch.undo()
    from platform_core.cache import cache_clear_all
    from tenant_apps.tokens.models import ApiToken

    with schema_context(world.a.org.schema_name):
        ApiToken.objects.filter(id=token_id).update(expires_at=timezone.now() - timedelta(seconds=1))
    cache_clear_all()
    assert client.get("/org").status_code == 401  # from PostgreSQL too


def test_last_used_at_is_written_at_most_once_a_minute(world, django_assert_max_num_queries):
    import platform_core.auth as auth

    raw, token_id = make_token(world.a, world.a.member)
    client = _client(world.a, raw)
    assert client.get("/org").status_code == 200
    first = _token_row(world.a, token_id).last_used_at
    assert first is not None
    with django_assert_max_num_queries(0):
        for _ in range(3):
            assert client.get("/org").status_code == 200
    assert _token_row(world.a, token_id).last_used_at == first
    auth._last_touch.clear()  # another process, or a minute later in this one
    assert client.get("/org").status_code == 200
    assert _token_row(world.a, token_id).last_used_at == first  # the UPDATE skips rows written < 1 min ago


def test_audit_events_carry_the_token_id(api, world):
    raw, token_id = make_token(world.a, world.a.owner)
    r = _client(world.a, raw).post("/boards", {"name": "By token"})
    assert r.status_code == 201
    api(world.a, world.a.owner).post("/boards", {"name": "By person"})
    events = api(world.a, world.a.owner).get("/audit", {"action": "board.created"}).json()["items"]
    tokens = [e["token_id"] for e in events]
    assert tokens == [None, token_id]  # newest first: the person's, then the token's
    # globex's log knows nothing of it
    assert all(e["token_id"] is None for e in api(world.b, world.b.owner).get("/audit").json()["items"])


def test_bad_tokens_are_401(world):
    for raw in ("thk_", "thk_nope", "thk_" + "x" * 200):
        r = _client(world.a, raw).get("/org")
        assert r.status_code == 401, (raw, r.content)
