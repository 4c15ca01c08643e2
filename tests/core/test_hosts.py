"""The host, and only the host, selects the organization."""

import pytest

pytestmark = pytest.mark.django_db


def test_unknown_host_is_404_envelope(api, world):
    r = api("nope.localhost", world.a.owner).get("/org")
    assert r.status_code == 404
    assert r.json()["code"] == "unknown_host"


@pytest.mark.parametrize("host", ["ACME.localhost", "acme.localhost.", "acme.localhost:8000", "Acme.Localhost.:80"])
def test_host_normalisation_selects_same_org(api, world, host):
    r = api(host, world.a.member).get("/org")
    assert r.status_code == 200, r.content
    assert r.json()["slug"] == "acme"


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1", "[::1]", "acme", "acme.localhost.evil.com",
        "x" * 64 + ".localhost", "acme..localhost", "-acme.localhost",
    ],
)
def test_odd_hosts_never_reach_a_tenant(api, world, host):
    r = api(host, world.a.member).get("/org")
    assert r.status_code == 404
    assert r.json()["code"] in ("unknown_host", "not_found")


def test_forwarded_host_is_ignored(api, world):
    r = api(world.a, world.a.member).get("/org", HTTP_X_FORWARDED_HOST=world.b.host)
    assert r.json()["slug"] == "acme"


def test_member_of_a_gets_403_on_b(api, world):
    r = api(world.b, world.a.owner).get("/org")
    assert r.status_code == 403
    assert r.json()["code"] == "not_a_member"
    assert api(world.b, world.a.owner).get("/members").status_code == 403


def test_outsider_gets_403(api, world):
    assert api(world.a, world.outsider).get("/org").status_code == 403


def test_suspended_org_answers_403(api, world):
    org = world.a.org
    org.status = "suspended"
    org.save(update_fields=["status"])
    r = api(world.a, world.a.owner).get("/org")
    assert r.status_code == 403
    assert r.json()["code"] == "org_suspended"
    org.status = "active"
    org.save(update_fields=["status"])
    assert api(world.a, world.a.owner).get("/org").status_code == 200


def test_custom_domain_selects_org(api, world):
    from shared_apps.orgs.models import Domain

    assert api("tasks.acme-corp.example", world.a.owner).get("/org").status_code == 404  # cached miss
    Domain.objects.create(domain="tasks.acme-corp.example", tenant=world.a.org, is_primary=False)
    r = api("tasks.acme-corp.example", world.a.owner).get("/org")
    assert r.status_code == 200
    assert r.json()["slug"] == "acme"


def test_root_host_does_not_serve_tenant_routes(api, world):
    assert api("root", world.a.owner).get("/org").status_code == 404
    assert api(world.a, world.a.owner).post("/orgs", {"name": "x", "slug": "xyz"}).status_code in (404, 405)


def test_host_lookup_is_cached(api, world, django_assert_max_num_queries):
    client = api(world.a, world.a.member)
    client.get("/org")
    with django_assert_max_num_queries(0):
        assert client.get("/org").status_code == 200
