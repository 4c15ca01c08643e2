"""Invite quotas (issue 11, finding 9b), with real parts: HTTP -> outbox -> Redis
-> RQ worker -> SMTP server.

Re-inviting one address every 2.5 s sent 5 emails. Now, per address and
organization (counted in PostgreSQL from the invites table, so it holds with
Redis down): no re-invite within INVITE_RESEND_COOLDOWN seconds (429 with
Retry-After) and at most INVITE_EMAILS_PER_ADDRESS invites per
INVITE_EMAILS_WINDOW; per organization, at most INVITE_RATE_PER_ORG invites per
INVITE_RATE_WINDOW (a Redis counter). Each organization counts its own.
"""

import time

import pytest

from tests.invites.helpers import invite
from tests.jobs.realparts import free_port, run_worker
from tests.support import unique_email

pytestmark = pytest.mark.django_db(transaction=True)


def _invites_of(org, email: str) -> list:
    from django_tenants.utils import tenant_context

    from tenant_apps.invites.models import Invite

    with tenant_context(org):
        return list(Invite.objects.filter(email=email).order_by("created_at").values_list("state", flat=True))


def _audit_count(org, action: str) -> int:
    from django_tenants.utils import tenant_context

    from tenant_apps.audit.models import AuditEvent

    with tenant_context(org):
        return AuditEvent.objects.filter(action=action).count()


def _reinvite(api, world, org, email: str, times: int) -> list:
    """The attack: invite the same address again and again, the worker sending in between."""
    answers = []
    for _ in range(times):
        r = invite(api, org, org.owner, email)
        answers.append(r)
        run_worker()
    return answers


def test_reinviting_one_address_five_times_sends_one_email(api, world, smtp_server):
    """Defaults: the 60 s cooldown refuses the next four, each with Retry-After."""
    email = unique_email("target")
    answers = _reinvite(api, world, world.a, email, 5)
    assert [r.status_code for r in answers] == [201, 429, 429, 429, 429], [r.content for r in answers]
    for r in answers[1:]:
        assert r.json()["code"] == "rate_limited" and "60 seconds" in r.json()["detail"]
        assert 1 <= int(r["Retry-After"]) <= 60
    assert len(smtp_server.to(email)) == 1
    assert _invites_of(world.a.org, email) == ["pending"]  # refused attempts wrote nothing

    # organization B counts its own invites: the same address is fine there
    assert invite(api, world.b, world.b.owner, email).status_code == 201
    run_worker()
    assert len(smtp_server.to(email)) == 2


def test_cooldown_ends_after_retry_after(api, world, settings):
    settings.INVITE_RESEND_COOLDOWN = 1
    email = unique_email()
    assert invite(api, world.a, world.a.owner, email).status_code == 201
    r = invite(api, world.a, world.a.admin, email)
    assert r.status_code == 429 and r["Retry-After"] == "1"
    time.sleep(1.1)
    assert invite(api, world.a, world.a.admin, email).status_code == 201


@pytest.fixture
def cache_redis_down(settings):
    """The cache Redis (rate-limit counters) unreachable; the queues' Redis stays up."""
    import platform_core.cache as cache_module

    settings.CACHES = {
        **settings.CACHES,
        "platform": {**settings.CACHES["platform"], "LOCATION": f"redis://127.0.0.1:{free_port()}/0"},
    }
    yield
    cache_module._flush_pending = False


def test_per_address_cap_holds_without_redis(api, world, settings, smtp_server, cache_redis_down):
    """No cooldown, cap 3 per 24 h, and no Redis for counters: 5 re-invites send 3
    emails; the 4th and 5th are refused until the first invite is 24 h old."""
    settings.INVITE_RESEND_COOLDOWN = 0
    email = unique_email("target")
    created_before = _audit_count(world.a.org, "invite.created")
    answers = _reinvite(api, world, world.a, email, 5)
    assert [r.status_code for r in answers] == [201, 201, 201, 429, 429], [r.content for r in answers]
    assert 86_000 <= int(answers[3]["Retry-After"]) <= 86_400
    assert "3 invites to one address per 24 hours" in answers[3].json()["detail"]
    assert len(smtp_server.to(email)) == 3
    assert _audit_count(world.a.org, "invite.created") == created_before + 3
    # revoked and replaced invites count too: revoking does not buy another email
    assert _invites_of(world.a.org, email) == ["revoked", "revoked", "pending"]
    pending = api(world.a, world.a.owner).get("/invites", {"status": "pending"}).json()["items"]
    [mine] = [i for i in pending if i["email"] == email]
    assert api(world.a, world.a.owner).delete(f"/invites/{mine['id']}").status_code == 204
    assert invite(api, world.a, world.a.owner, email).status_code == 429
    # B's count is its own
    assert invite(api, world.b, world.b.owner, email).status_code == 201


def test_invite_rate_per_organization(api, world, settings):
    settings.INVITE_RATE_PER_ORG, settings.INVITE_RATE_WINDOW = 3, 3600
    created_before = _audit_count(world.a.org, "invite.created")
    statuses = [invite(api, world.a, world.a.admin, unique_email()).status_code for _ in range(3)]
    assert statuses == [201, 201, 201]
    r = invite(api, world.a, world.a.owner, unique_email())
    assert r.status_code == 429, r.content
    assert 1 <= int(r["Retry-After"]) <= 3600
    assert _audit_count(world.a.org, "invite.created") == created_before + 3
    # organization B has its own counter
    assert invite(api, world.b, world.b.owner, unique_email()).status_code == 201
