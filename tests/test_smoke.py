import pytest

pytestmark = pytest.mark.django_db


def test_world_hosts_answer(api, world):
    r = api(world.a, world.a.owner).get("/org")
    assert r.status_code == 200, r.content
    assert r.json()["slug"] == "acme"
    r = api(world.b, world.b.member).get("/org")
    assert r.json()["role"] == "member"
