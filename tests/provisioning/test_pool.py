"""The spare-schema pool: spares are fully migrated, claimed once, refilled without overshoot."""

import uuid

import pytest
from django.db import connection
from django_tenants.utils import schema_exists

from provisioning import fleet, services
from shared_apps.orgs.models import Organization, OrgStatus
from tests.provisioning.conftest import events, run_threads
from tests.support import make_user, unique_email


def _applied(schema_name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{schema_name}".django_migrations')
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_spare_is_fully_migrated_and_hidden_from_hosts(api):
    spare = services.spare_create()
    assert spare.status == OrgStatus.SPARE and spare.slug is None
    assert schema_exists(spare.schema_name)
    assert _applied(spare.schema_name) >= len(fleet.expected_migrations())
    assert fleet.fleet_plan(schemas=[spare.schema_name]).up_to_date == [spare.schema_name]


@pytest.mark.django_db
def test_provision_claims_a_spare_and_its_host_works(api, django_capture_on_commit_callbacks):
    spare = services.spare_create()
    owner = make_user(unique_email())
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        org = services.org_provision(owner=owner, name="Pooled", slug="pooled-org")
    assert org.id == spare.id and org.schema_name == spare.schema_name
    assert org.status == OrgStatus.ACTIVE
    [event] = events("org.created", org)
    assert event.changes["from_pool"] is True
    assert api("pooled-org.localhost", owner).get("/org").json()["role"] == "owner"
    # after commit a refill was enqueued, for the public schema
    assert callbacks
    from platform_core.jobs import get_queue

    [job] = get_queue("default").get_jobs()
    assert job.func_name == services.REFILL_JOB
    assert job.meta["schema_name"] == "public"


@pytest.mark.django_db
def test_empty_pool_falls_back_to_a_new_schema(api):
    assert not Organization.objects.filter(status=OrgStatus.SPARE).exists()
    owner = make_user(unique_email())
    org = services.org_provision(owner=owner, name="Fresh", slug="fresh-org")
    assert schema_exists(org.schema_name)
    assert events("org.created", org)[0].changes["from_pool"] is False
    assert api("fresh-org.localhost", owner).get("/org").status_code == 200


@pytest.mark.django_db
def test_redis_down_does_not_fail_provisioning(monkeypatch, django_capture_on_commit_callbacks):
    import platform_core.jobs

    def broken(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(platform_core.jobs, "get_queue", broken)
    with django_capture_on_commit_callbacks(execute=True):
        org = services.org_provision(
            owner=make_user(unique_email()), name="NoRedis", slug="no-redis"
        )
    assert org.status == OrgStatus.ACTIVE


@pytest.mark.django_db
def test_refill_tops_up_to_the_pool_size_and_is_idempotent(settings):
    settings.SPARE_SCHEMA_POOL_SIZE = 2
    from provisioning.jobs import refill_spare_pool

    assert refill_spare_pool() == 2
    assert refill_spare_pool() == 0
    assert services.spare_count() == 2


@pytest.mark.django_db
def test_refill_skips_while_another_holds_the_lock():
    with services.advisory_lock(services.SPARE_POOL_LOCK) as acquired:
        assert acquired
        assert services.spare_pool_refill(target=1, wait_seconds=0) == 0
    assert services.spare_count() == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_refills_do_not_overshoot():
    results, errors = run_threads(lambda: services.spare_pool_refill(target=2), [(), ()])
    assert errors == [None, None]
    assert sorted(results) == [0, 2]
    assert services.spare_count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_signups_never_claim_the_same_spare():
    spares = {services.spare_create().id for _ in range(3)}
    owners = [make_user(unique_email()) for _ in range(6)]
    slugs = [f"race-{i}-{uuid.uuid4().hex[:6]}" for i in range(6)]

    def signup(owner, slug):
        return services.org_provision(owner=owner, name=slug, slug=slug)

    results, errors = run_threads(signup, list(zip(owners, slugs, strict=True)))
    assert errors == [None] * 6
    ids = [org.id for org in results]
    assert len(set(ids)) == 6, "two sign-ups got the same organization"
    assert spares <= set(ids), "every spare was claimed exactly once"
    assert len({org.schema_name for org in results}) == 6
    for org, slug in zip(results, slugs, strict=True):
        fresh = Organization.objects.get(id=org.id)
        assert (fresh.slug, fresh.status) == (slug, OrgStatus.ACTIVE)
        assert schema_exists(fresh.schema_name)
    assert sorted(
        e.changes["from_pool"] for e in events("org.created") if e.organization_id in ids
    ) == [
        False,
        False,
        False,
        True,
        True,
        True,
    ]
    assert services.spare_count() == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_signups_for_one_slug_get_one_organization():
    owners = [make_user(unique_email()) for _ in range(3)]
    results, errors = run_threads(
        lambda owner: services.org_provision(owner=owner, name="Same", slug="same-slug"),
        [(o,) for o in owners],
    )
    assert sum(r is not None for r in results) == 1
    assert [type(e).__name__ for e in errors if e is not None] == ["Conflict", "Conflict"]
    assert Organization.objects.filter(slug="same-slug").count() == 1
