"""The /platform/... operator endpoints and their effect on organization hosts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_exists

from shared_apps.orgs.models import Domain, Membership, Organization, OrgStatus
from tests.provisioning.conftest import events
from tests.support import make_user, unique_email

pytestmark = pytest.mark.django_db

ROUTES = [
    ("get", "/platform/orgs", None),
    ("post", "/platform/orgs", {"owner_email": "x@example.com", "name": "X", "slug": "xxx"}),
    ("get", "/platform/orgs/acme", None),
    ("patch", "/platform/orgs/acme", {"name": "Hacked"}),
    ("post", "/platform/orgs/acme/suspend", None),
    ("post", "/platform/orgs/acme/resume", None),
    ("delete", "/platform/orgs/acme", None),
]


def _call(client, method, path, body):
    return (
        client.delete(path)
        if method == "delete"
        else getattr(client, method)(path, *([body] if method != "get" else []))
    )


@pytest.mark.parametrize("method,path,body", ROUTES)
def test_non_operators_get_403_on_every_platform_route(api, world, method, path, body):
    for user in (world.a.owner, world.outsider):
        r = _call(api("root", user), method, path, body)
        assert r.status_code == 403, (user.email, r.content)
    assert _call(api("root"), method, path, body).status_code == 401
    acme = Organization.objects.get(slug="acme")
    assert (acme.status, acme.name) == (OrgStatus.ACTIVE, "Acme")


def test_platform_routes_do_not_exist_on_org_hosts(api, world):
    assert api(world.a, world.operator).get("/platform/orgs").status_code == 404


def test_suspend_resume_delete_take_effect_on_the_host_at_once(api, operator_api, new_org):
    owner = make_user(unique_email())
    org = new_org(owner=owner)
    host = api(org.primary_domain, owner)
    assert host.get("/org").status_code == 200  # host -> org now cached

    r = operator_api.post(f"/platform/orgs/{org.slug}/suspend")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "suspended"
    r = host.get("/org")
    assert (r.status_code, r.json()["code"]) == (403, "org_suspended")
    assert operator_api.post(f"/platform/orgs/{org.slug}/suspend").status_code == 200  # idempotent

    r = operator_api.post(f"/platform/orgs/{org.slug}/resume")
    assert (r.status_code, r.json()["status"]) == (200, "active")
    assert host.get("/org").status_code == 200

    slug = org.slug
    assert operator_api.delete(f"/platform/orgs/{slug}").status_code == 204
    r = host.get("/org")
    assert (r.status_code, r.json()["code"]) == (404, "unknown_host")
    tomb = Organization.objects.get(id=org.id)
    assert tomb.status == OrgStatus.DELETED and tomb.deleted_at is not None
    assert (tomb.slug, tomb.deleted_slug) == (None, slug)
    assert not Domain.objects.filter(tenant=tomb).exists()
    assert schema_exists(tomb.schema_name)  # dropped later, by the retention job
    assert operator_api.post(f"/platform/orgs/{slug}/resume").status_code == 404
    assert operator_api.delete(f"/platform/orgs/{slug}").status_code == 404

    # the slug is free again; the tombstone stays in the registry
    r = operator_api.post(
        "/platform/orgs", {"owner_email": owner.email, "name": "Again", "slug": slug}
    )
    assert r.status_code == 201, r.content
    assert r.json()["id"] != str(org.id)
    assert api(f"{slug}.localhost", owner).get("/org").json()["id"] == r.json()["id"]

    assert [e.action for e in events("org.suspended", org)] == ["org.suspended"]
    assert len(events("org.resumed", org)) == 1
    [deleted] = events("org.deleted", org)
    assert deleted.changes["slug"] == slug
    assert deleted.actor_id is not None
    assert deleted.changes["via"] == "api"


def test_rename_moves_the_host_and_keeps_the_schema(api, operator_api, new_org, world):
    owner = make_user(unique_email())
    org = new_org(owner=owner)
    old_host = api(org.primary_domain, owner)
    assert old_host.get("/org").status_code == 200

    r = operator_api.patch(f"/platform/orgs/{org.slug}", {"slug": "renamed-org"})
    assert r.status_code == 200, r.content
    assert (r.json()["slug"], r.json()["domain"]) == ("renamed-org", "renamed-org.localhost")
    assert old_host.get("/org").json()["code"] == "unknown_host"
    assert api("renamed-org.localhost", owner).get("/org").json()["slug"] == "renamed-org"
    assert Organization.objects.get(id=org.id).schema_name == org.schema_name
    [event] = events("org.renamed", org)
    assert event.changes["slug"] == {"from": org.slug, "to": "renamed-org"}

    r = operator_api.patch("/platform/orgs/renamed-org", {"name": "New Name"})
    assert (r.status_code, r.json()["name"]) == (200, "New Name")
    assert operator_api.patch("/platform/orgs/renamed-org", {"slug": "globex"}).status_code == 409
    assert operator_api.patch("/platform/orgs/renamed-org", {"slug": "Bad Slug"}).status_code == 422
    assert operator_api.patch("/platform/orgs/renamed-org", {"slug": "admin"}).status_code == 422
    assert operator_api.patch("/platform/orgs/renamed-org", {}).status_code == 422
    assert operator_api.patch("/platform/orgs/renamed-org", {"name": "Acme\r\nBcc: x@evil.test"}).status_code == 422
    assert operator_api.patch("/platform/orgs/no-such-org", {"name": "x"}).status_code == 404


def test_provision_through_the_api(api, operator_api, world):
    r = operator_api.post(
        "/platform/orgs",
        {"owner_email": world.outsider.email.upper(), "name": "Ops", "slug": "ops-made"},
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["slug"], body["status"], body["member_count"], body["domain"]) == (
        "ops-made",
        "active",
        1,
        "ops-made.localhost",
    )
    assert body["schema_size"] > 0
    assert Membership.objects.get(organization_id=body["id"]).user_id == world.outsider.id
    [event] = events("org.created", Organization.objects.get(id=body["id"]))
    assert event.actor_id == world.operator.id
    assert api("ops-made.localhost", world.outsider).get("/org").json()["role"] == "owner"

    r = operator_api.post(
        "/platform/orgs", {"owner_email": "nobody@example.com", "name": "X", "slug": "nobody-org"}
    )
    assert (r.status_code, r.json()["errors"][0]["loc"]) == (422, ["body", "owner_email"])
    assert (
        operator_api.post(
            "/platform/orgs", {"owner_email": world.outsider.email, "name": "X", "slug": "acme"}
        ).status_code
        == 409
    )
    assert (
        operator_api.post(
            "/platform/orgs", {"owner_email": world.outsider.email, "name": "X", "slug": "www"}
        ).status_code
        == 422
    )
    assert (
        operator_api.post(
            "/platform/orgs", {"owner_email": world.outsider.email, "name": "X"}
        ).status_code
        == 422
    )


def test_provision_records_the_owner_in_the_new_orgs_audit_log(api, operator_api, world):
    """The owner's membership comes from the one membership writer: the new
    organization's log starts with its `member.added` (via "provision", by the
    operator); no other organization's log gets it."""
    from django_tenants.utils import tenant_context

    from tenant_apps.audit.models import AuditEvent

    with tenant_context(world.a.org):
        a_before = AuditEvent.objects.count()
    r = operator_api.post(
        "/platform/orgs", {"owner_email": world.outsider.email, "name": "Logged", "slug": "logged-org"}
    )
    assert r.status_code == 201, r.content
    items = api("logged-org.localhost", world.outsider).get("/audit").json()["items"]
    assert [(e["action"], e["target_type"], e["target_id"]) for e in items] == [
        ("member.added", "member", str(world.outsider.id))
    ]
    assert items[0]["changes"] == {"role": {"from": None, "to": "owner"}, "via": "provision"}
    assert items[0]["actor_id"] == str(world.operator.id)
    with tenant_context(world.a.org):
        assert AuditEvent.objects.count() == a_before


def test_unknown_slug_is_404(operator_api):
    for method, path, body in ROUTES[2:]:
        r = _call(operator_api, method, path.replace("acme", "no-such-org"), body)
        assert r.status_code == 404, (method, path, r.content)


def test_list_organizations(operator_api, world, new_org):
    spare_free = operator_api.get("/platform/orgs", {"limit": 200}).json()
    by_slug = {o["slug"]: o for o in spare_free["items"]}
    assert by_slug["acme"]["member_count"] == 3
    assert by_slug["acme"]["status"] == "active"
    assert by_slug["acme"]["schema_size"] > 0
    assert {"created_at", "deleted_at", "id", "name", "domain"} <= set(by_slug["acme"])

    first = operator_api.get("/platform/orgs", {"limit": 1}).json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = operator_api.get("/platform/orgs", {"limit": 1, "cursor": first["next_cursor"]}).json()
    assert second["items"][0]["id"] != first["items"][0]["id"]

    org = new_org()
    operator_api.post(f"/platform/orgs/{org.slug}/suspend")
    suspended = operator_api.get("/platform/orgs", {"status": "suspended"}).json()["items"]
    assert [o["slug"] for o in suspended] == [org.slug]
    assert operator_api.get("/platform/orgs", {"status": "bogus"}).status_code == 422


def test_list_costs_the_same_queries_for_more_organizations(operator_api, new_org):
    def count():
        operator_api.get("/platform/orgs")  # warm the auth caches
        with CaptureQueriesContext(connection) as ctx:
            assert operator_api.get("/platform/orgs").status_code == 200
        return len(ctx.captured_queries)

    before = count()
    for _ in range(3):
        new_org()
    assert count() == before <= 3
