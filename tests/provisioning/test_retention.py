"""Deleted organizations' schemas are dropped by a job after the retention period, not before."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_exists

from provisioning import services
from provisioning.jobs import drop_deleted_schemas
from shared_apps.orgs.models import Membership, Organization, OrgStatus
from tests.provisioning.conftest import events

pytestmark = pytest.mark.django_db


def _deleted(new_org, *, days_ago: float) -> Organization:
    org = services.org_delete(org=new_org(), actor_id=None, via="cli")
    Organization.objects.filter(id=org.id).update(
        deleted_at=timezone.now() - timedelta(days=days_ago)
    )
    return Organization.objects.get(id=org.id)


def test_job_drops_only_schemas_past_retention(settings, new_org):
    settings.ORG_DELETE_RETENTION_DAYS = 30
    old = _deleted(new_org, days_ago=31)
    young = _deleted(new_org, days_ago=29)
    live = new_org()

    assert drop_deleted_schemas() == [old.schema_name]

    old.refresh_from_db()
    assert not schema_exists(old.schema_name)
    assert (
        old.schema_dropped_at is not None and old.status == OrgStatus.DELETED
    )  # the tombstone stays
    assert not Membership.objects.filter(organization=old).exists()
    [event] = events("org.schema_dropped", old)
    assert event.changes["schema_name"] == old.schema_name
    assert event.changes["slug"] == old.deleted_slug

    for org in (young, live):
        assert schema_exists(org.schema_name)
        assert Organization.objects.get(id=org.id).schema_dropped_at is None

    # idempotent, and saving the tombstone never brings the schema back
    assert drop_deleted_schemas() == []
    assert not services.org_drop_schema(org=old)
    assert not schema_exists(old.schema_name)


def test_live_organizations_are_never_dropped(new_org):
    org = new_org()
    assert not services.org_drop_schema(org=org)
    assert schema_exists(org.schema_name)
