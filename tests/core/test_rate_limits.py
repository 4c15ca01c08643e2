"""Rate limits (API.md "Rate limits"): per caller (user or API token) per
organization, per client address on the root host, counted in Redis and so
shared by every process; RateLimit-* headers on every API response, 429 with
Retry-After past the limit."""

import pytest

from tests.support import ApiClient
from tests.tokens.helpers import make_token

pytestmark = pytest.mark.django_db


def _headers(response) -> tuple[int, int, int]:
    return (
        int(response["RateLimit-Limit"]),
        int(response["RateLimit-Remaining"]),
        int(response["RateLimit-Reset"]),
    )


def test_every_api_response_carries_the_headers(api, world, settings):
    settings.API_RATE_LIMIT, settings.API_ROOT_RATE_LIMIT, settings.API_RATE_WINDOW = 50, 40, 60
    ok = api(world.a, world.a.member).get("/org")
    assert ok.status_code == 200 and _headers(ok)[:2] == (50, 49)
    assert 0 < _headers(ok)[2] <= 60
    error = api(world.a, world.a.member).get(f"/tasks/{world.a.org.id}")
    assert error.status_code == 404 and _headers(error)[:2] == (50, 48)
    unauthenticated = api(world.a).get("/org")
    assert unauthenticated.status_code == 401 and "RateLimit-Remaining" in unauthenticated
    root = api("root").get("/me")
    assert root.status_code == 401 and _headers(root)[0] == 40
    assert "RateLimit-Limit" not in api(world.a).get("/healthz")


def test_limit_per_caller_per_organization(api, world, settings):
    settings.API_RATE_LIMIT = 3
    member_a = api(world.a, world.a.member)
    for expected in (2, 1, 0):
        r = member_a.get("/org")
        assert r.status_code == 200 and int(r["RateLimit-Remaining"]) == expected
    r = member_a.get("/org")
    assert r.status_code == 429 and r.json()["code"] == "rate_limited"
    assert 1 <= int(r["Retry-After"]) <= settings.API_RATE_WINDOW
    assert r["RateLimit-Remaining"] == "0"
    # another caller of acme, the same user in globex, and an API token of the same user: their own buckets
    assert api(world.a, world.a.admin).get("/org").status_code == 200
    assert api(world.b, world.b.member).get("/org").status_code == 200
    raw, _ = make_token(world.a, world.a.member)
    assert ApiClient(world.a.host, token=raw).get("/org").status_code == 200


def test_root_host_is_limited_per_client_address(api, world, settings):
    settings.API_ROOT_RATE_LIMIT = 2
    assert api("root").get("/me").status_code == 401
    assert api("root", world.a.owner).get("/me").status_code == 200
    r = api("root", world.b.owner).get("/me")  # same address, another user: the same bucket
    assert r.status_code == 429 and "Retry-After" in r
    assert api(world.a, world.a.owner).get("/org").status_code == 200  # organization hosts count per caller


def test_zero_turns_a_limit_off(api, world, settings):
    settings.API_RATE_LIMIT = 0
    r = api(world.a, world.a.member).get("/org")
    assert r.status_code == 200 and "RateLimit-Limit" not in r


@pytest.mark.django_db(transaction=True)
def test_two_processes_share_the_count(world, settings):
    """This process (the test client) and a granian server count in the same Redis window."""
    from django.db import connection

    from proof.harness import Server, app_env, http

    settings.API_RATE_LIMIT = 5
    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = app_env(
        url,
        settings.REDIS_URL,
        CACHE_REDIS_URL=settings.CACHE_REDIS_URL,
        SECRET_KEY=settings.SECRET_KEY,
        JWT_SIGNING_KEY=settings.NINJA_JWT["SIGNING_KEY"],
        API_RATE_LIMIT=5,
    )
    server = Server(env, workers=1).start()
    try:
        token = world.token(world.a.member)
        here = ApiClient(world.a.host, token=token)
        for _ in range(3):
            assert here.get("/org").status_code == 200
        status, headers, _ = http(server.url, "GET", "/org", host=world.a.host, token=token)
        assert status == 200 and {k.lower(): v for k, v in headers.items()}["ratelimit-remaining"] == "1"
        assert http(server.url, "GET", "/org", host=world.a.host, token=token)[0] == 200
        status, headers, body = http(server.url, "GET", "/org", host=world.a.host, token=token)
        assert status == 429 and body["code"] == "rate_limited"
        assert "retry-after" in {k.lower() for k in headers}
        assert here.get("/org").status_code == 429  # and back here
        other = world.token(world.b.member)
        assert http(server.url, "GET", "/org", host=world.b.host, token=other)[0] == 200
    finally:
        server.stop()


def test_made_up_credentials_share_the_client_address_bucket(world, settings):
    """A fresh random token per request buys no fresh bucket: unknown tokens count per address."""
    import secrets

    settings.API_RATE_LIMIT = 2
    statuses = [
        ApiClient(world.a.host, token="thk_" + secrets.token_urlsafe(32)).get("/org").status_code for _ in range(3)
    ]
    assert statuses == [401, 401, 429]
    statuses = [ApiClient(world.a.host, token=f"not.a.jwt{i}").get("/org").status_code for i in range(1)]
    assert statuses == [429]  # the same address's bucket
    raw, _ = make_token(world.a, world.a.member)
    assert ApiClient(world.a.host, token=raw).get("/org").status_code == 200  # a real token: its own bucket
