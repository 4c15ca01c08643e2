"""Creating and listing organizations on the root host; the org and members on its host."""

import pytest

from tests.support import add_member, make_user, unique_email

pytestmark = pytest.mark.django_db


def test_create_org_makes_a_working_host(api, world):
    user = make_user(unique_email())
    r = api("root", user).post("/orgs", {"name": "Initech", "slug": "initech"})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["slug"] == "initech" and body["role"] == "owner"
    assert body["domain"] == "initech.localhost"
    org = api(body["domain"], user).get("/org")
    assert org.status_code == 200
    assert org.json()["id"] == body["id"]
    listed = api("root", user).get("/orgs").json()
    assert [m["org"]["slug"] for m in listed] == ["initech"]


def test_org_schema_is_opaque_and_isolated(api, world):
    from django.db import connection

    assert world.a.org.schema_name != "acme" and world.a.org.schema_name.startswith("t_")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = %s", [world.a.org.schema_name]
        )
        assert cursor.fetchone()[0] == 1


def test_taken_slug_is_409(api, world):
    r = api("root", world.outsider).post("/orgs", {"name": "Acme 2", "slug": "acme"})
    assert r.status_code == 409
    assert r.json()["code"] == "slug_taken"


@pytest.mark.parametrize(
    "slug", ["ab", "A-corp", "1corp", "corp-", "corp_x", "www", "admin", "api", "public", "static", "x" * 41, "xn--abc"]
)
def test_invalid_or_reserved_slug_is_422(api, world, slug):
    r = api("root", world.outsider).post("/orgs", {"name": "Bad", "slug": slug})
    assert r.status_code == 422, (slug, r.content)
    assert r.json()["code"] == "validation_error"


def test_org_requires_auth(api):
    assert api("root").post("/orgs", {"name": "X", "slug": "xyzzy"}).status_code == 401


def test_members_of_a_see_only_a(api, world):
    r = api(world.a, world.a.member).get("/members")
    assert r.status_code == 200
    emails = {m["user"]["email"] for m in r.json()["items"]}
    assert emails == {world.a.owner.email, world.a.admin.email, world.a.member.email}
    assert r.json()["next_cursor"] is None


def test_members_pagination(api, world):
    pages, cursor = [], None
    while True:
        params = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        body = api(world.b, world.b.owner).get("/members", params).json()
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert [len(p) for p in pages] == [1, 1, 1]
    assert len({p[0]["user"]["id"] for p in pages}) == 3


def test_rename_org(api, world):
    r = api(world.a, world.a.admin).patch("/org", {"name": "Acme Corp"})
    assert r.status_code == 200
    assert r.json()["name"] == "Acme Corp"
    assert api(world.a, world.a.member).patch("/org", {"name": "Nope"}).status_code == 403
    assert api(world.b, world.b.owner).get("/org").json()["name"] == "Globex"


def test_role_change_rules(api, world):
    a = world.a
    newbie = make_user(unique_email())
    add_member(a.org, newbie, "member")
    assert api(a, a.member).patch(f"/members/{newbie.id}", {"role": "admin"}).status_code == 403
    assert api(a, a.admin).patch(f"/members/{newbie.id}", {"role": "owner"}).status_code == 403
    assert api(a, a.admin).patch(f"/members/{a.owner.id}", {"role": "member"}).status_code == 403
    r = api(a, a.admin).patch(f"/members/{newbie.id}", {"role": "admin"})
    assert r.status_code == 200 and r.json()["role"] == "admin"
    assert api(a, a.owner).patch(f"/members/{newbie.id}", {"role": "owner"}).json()["role"] == "owner"
    assert api(a, a.owner).patch(f"/members/{newbie.id}", {"role": "superuser"}).status_code == 422


def test_last_owner_cannot_be_demoted_or_removed(api, world):
    a = world.a
    r = api(a, a.owner).patch(f"/members/{a.owner.id}", {"role": "admin"})
    assert r.status_code == 409 and r.json()["code"] == "last_owner"
    r = api(a, a.owner).delete(f"/members/{a.owner.id}")
    assert r.status_code == 409


def test_member_may_leave_but_not_remove_others(api, world):
    a = world.a
    leaver = make_user(unique_email())
    add_member(a.org, leaver, "member")
    assert api(a, leaver).delete(f"/members/{a.member.id}").status_code == 403
    assert api(a, leaver).delete(f"/members/{leaver.id}").status_code == 204
    # access ends on the very next request
    assert api(a, leaver).get("/org").status_code == 403


def test_removed_member_loses_access_at_once_even_when_cached(api, world):
    a = world.a
    user = make_user(unique_email())
    add_member(a.org, user, "member")
    assert api(a, user).get("/org").status_code == 200  # role now cached in Redis
    assert api(a, a.admin).delete(f"/members/{user.id}").status_code == 204
    assert api(a, user).get("/org").status_code == 403


def test_member_ids_of_other_org_are_404(api, world):
    r = api(world.a, world.a.owner).patch(f"/members/{world.b.member.id}", {"role": "admin"})
    assert r.status_code == 404
    assert api(world.a, world.a.owner).delete(f"/members/{world.b.member.id}").status_code == 404
