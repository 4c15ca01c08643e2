"""Quotas on creating organizations (issue 11, finding 9a).

One user created 45 organizations, 30 of them at once. Now POST /orgs is
limited per user: MAX_ORGS_PER_USER live (not deleted) organizations the user
owns or created for themself (403 `quota_exceeded`, the limit in `detail`),
and ORG_CREATE_RATE creations per ORG_CREATE_RATE_WINDOW seconds (429 with
Retry-After). The count runs under a per-user lock held until commit, so 30
concurrent creations by one user against a real server (granian, PostgreSQL,
Redis) never exceed the limit. Other users are not affected.
"""

import threading
import uuid

import pytest

from tests.support import add_member, make_user, unique_email

pytestmark = pytest.mark.django_db


def _bare_org(owner, slug: str, *, status: str = "active", role: str = "owner", created_by=None):
    """An organization row (no schema: the quota only counts rows) owned by `owner`."""
    from shared_apps.orgs.models import Organization, PlatformEvent

    org = Organization(schema_name="t_" + uuid.uuid4().hex, slug=slug, name=slug.title(), status=status)
    org.auto_create_schema = False
    org.save()
    if owner is not None:
        add_member(org, owner, role)
    if created_by is not None:
        PlatformEvent.objects.create(
            actor_id=created_by.id, action="org.created", organization_id=org.id,
            changes={"owner_id": str(created_by.id), "via": "api"},
        )
    return org


def _create(api, user, slug: str):
    return api("root", user).post("/orgs", {"name": slug.title(), "slug": slug})


def test_org_limit_counts_live_orgs_owned_and_frees_on_delete(api, world, settings):
    from provisioning.services import org_delete
    from shared_apps.orgs.models import Organization, PlatformEvent

    settings.MAX_ORGS_PER_USER, settings.ORG_CREATE_RATE = 3, 100
    user = make_user(unique_email())
    _bare_org(user, "quota-active")
    _bare_org(user, "quota-suspended", status="suspended")
    _bare_org(user, "quota-deleted", status="deleted")  # deleted: not counted
    _bare_org(user, "quota-admin", role="admin")  # not the owner: not counted
    add_member(world.a.org, user, "member")

    r = _create(api, user, "quota-third")
    assert r.status_code == 201, r.content

    events_before = PlatformEvent.objects.count()
    r = _create(api, user, "quota-fourth")
    assert r.status_code == 403, r.content
    body = r.json()
    assert body["code"] == "quota_exceeded" and "3" in body["detail"] and body["limit"] == 3
    assert not Organization.objects.filter(slug="quota-fourth").exists()
    assert PlatformEvent.objects.count() == events_before  # refused: nothing written

    # another user (and the owners of A and B) are not limited by this user's count
    other = make_user(unique_email())
    for _ in range(3):
        _bare_org(other, f"other-{uuid.uuid4().hex[:8]}")
    r = _create(api, world.b.owner, "globex-second")
    assert r.status_code == 201, r.content

    # deleting one of the user's organizations frees a place
    org_delete(org=Organization.objects.get(slug="quota-active"), actor_id=world.operator.id)
    r = _create(api, user, "quota-fourth")
    assert r.status_code == 201, r.content
    assert _create(api, user, "quota-fifth").json()["code"] == "quota_exceeded"


def test_orgs_created_then_handed_over_still_count(api, world, settings):
    """Creating organizations and handing them to someone else does not reset the count."""
    settings.MAX_ORGS_PER_USER, settings.ORG_CREATE_RATE = 2, 100
    user, accomplice = make_user(unique_email()), make_user(unique_email())
    _bare_org(accomplice, "handed-one", created_by=user)
    _bare_org(accomplice, "handed-two", created_by=user)
    r = _create(api, user, "handed-three")
    assert r.status_code == 403 and r.json()["code"] == "quota_exceeded", r.content
    # the accomplice owns both: they count against the accomplice too
    assert api("root", accomplice).post("/orgs", {"name": "A", "slug": "acc-three"}).json()["code"] == "quota_exceeded"


def test_org_creation_rate_is_429_with_retry_after(api, world, settings):
    settings.MAX_ORGS_PER_USER, settings.ORG_CREATE_RATE, settings.ORG_CREATE_RATE_WINDOW = 10, 1, 3600
    user = make_user(unique_email())
    assert _create(api, user, "rate-one").status_code == 201
    r = _create(api, user, "rate-two")
    assert r.status_code == 429, r.content
    assert r.json()["code"] == "rate_limited"
    assert 1 <= int(r["Retry-After"]) <= 3600
    # the counter is the user's own: another user's attempt goes through to the slug check
    r = _create(api, world.outsider, "rate-one")
    assert r.status_code == 409 and r.json()["code"] == "slug_taken"


def test_invalid_input_is_422_before_any_quota(api, world, settings):
    """Refused input neither counts against the rate nor reaches the lock."""
    settings.ORG_CREATE_RATE = 1
    user = make_user(unique_email())
    for _ in range(3):
        assert _create(api, user, "www").status_code == 422  # reserved slug
    assert _create(api, user, "valid-after-422").status_code == 201


def test_a_creation_stuck_behind_the_users_lock_is_429_not_503(api, world, settings, monkeypatch):
    """Another transaction holds this user's quota lock: the request waits at most
    ORG_QUOTA_LOCK_TIMEOUT, then answers 429 with Retry-After (not a 503 or 500)."""
    import psycopg
    from django.db import connection

    from provisioning import services

    settings.ORG_CREATE_RATE = 100
    monkeypatch.setattr(services, "ORG_QUOTA_LOCK_TIMEOUT", "300ms")
    user = make_user(unique_email())
    params = {k: v for k, v in connection.get_connection_params().items()
              if k not in ("context", "cursor_factory", "prepare_threshold")}
    with psycopg.connect(**params) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                       [services.ORG_QUOTA_LOCK_CLASS, str(user.id)])
        r = _create(api, user, "stuck-behind")
        assert r.status_code == 429, r.content
        assert r["Retry-After"] == "5" and "being created" in r.json()["detail"]
    # lock released: the same request goes through, and the failed wait left nothing behind
    assert _create(api, user, "stuck-behind").status_code == 201


# --- against a real server ------------------------------------------------------------------

from tests.faults.conftest import golden_pg, pg, redis_server, servers  # noqa: E402, F401 - fixtures

CONCURRENT = 30
LIMIT = 3

SEED_OWNER_ORGS = """
from provisioning.services import spare_pool_refill
result = spare_pool_refill(target=8)
"""

COUNT_OWNED = """
from shared_apps.orgs.models import Membership
result = Membership.objects.filter(user_id=USER_ID, role="owner", organization__status="active").count()
"""


@pytest.mark.slow
def test_concurrent_creations_by_one_user_never_exceed_the_limit(pg, redis_server, servers):  # noqa: F811
    """30 POST /orgs at once by one user who owns 1 organization, limit 3:
    exactly 2 are created, the others get 403 quota_exceeded; never a 500. The
    rate limit is set high so that only the quota is in play."""
    from proof.harness import app_env, django_run, http, seed_orgs

    env = app_env(pg.url(), redis_server.url(), MAX_ORGS_PER_USER=LIMIT, ORG_CREATE_RATE=1000)
    racer, other = seed_orgs(env, ["racer", "bystander"], extra_users=0)
    django_run(SEED_OWNER_ORGS, env)  # spares ready: creations are fast, the race is tight
    server = servers(env, workers=2)
    token = racer["users"][0]["token"]

    barrier = threading.Barrier(CONCURRENT)
    results: list = [None] * CONCURRENT

    def create(i: int) -> None:
        barrier.wait()
        status, headers, body = http(server.url, "POST", "/orgs", host="localhost", token=token,
                                     body={"name": f"Race {i}", "slug": f"race-{i}"}, timeout=120)
        results[i] = (status, body)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(CONCURRENT)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)

    statuses = sorted(r[0] for r in results)
    print(f"\n{CONCURRENT} concurrent POST /orgs, limit {LIMIT}, 1 owned: statuses {statuses}")
    assert all(s < 500 for s in statuses), results
    created = [r for r in results if r[0] == 201]
    refused = [r for r in results if r[0] == 403]
    assert len(created) == LIMIT - 1, statuses
    assert all(b["code"] == "quota_exceeded" for _, b in refused) and len(refused) == CONCURRENT - len(created)
    owned = django_run(f"USER_ID = {racer['users'][0]['id']!r}\n" + COUNT_OWNED, env)
    assert owned == LIMIT

    # another user, and the organizations already there, are unaffected
    status, _, body = http(server.url, "POST", "/orgs", host="localhost", token=other["users"][0]["token"],
                           body={"name": "Bystander 2", "slug": "bystander-2"})
    assert status == 201, body
    status, _, body = http(server.url, "GET", "/org", host="racer.localhost", token=token)
    assert status == 200 and body["slug"] == "racer"
