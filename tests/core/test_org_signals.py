"""shared_apps talks to the tenant apps through signals (shared_apps.orgs.changes,
shared_apps.accounts.changes), never by importing them; the receivers run in the
sender's transaction, so an organization's events commit or roll back with the change."""

import ast
from pathlib import Path

import pytest
from django.db import transaction
from django_tenants.utils import schema_context

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "module", ["shared_apps/orgs/services.py", "shared_apps/accounts/services.py"]
)
def test_shared_services_import_no_tenant_app(module):
    tree = ast.parse((ROOT / module).read_text())
    imported = [
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    assert not [m for m in imported if m and m.split(".")[0] in ("tenant_apps", "provisioning")]


def test_an_org_event_nobody_records_is_refused(world):
    """record_org_event insists on exactly one recorder: a change never goes unaudited silently."""
    from shared_apps.orgs.changes import org_event, record_org_event
    from shared_apps.orgs.models import Organization
    from tenant_apps.audit import receivers

    org = Organization.objects.get(id=world.a.org.id)
    org_event.disconnect(dispatch_uid="tenant_apps.audit.record_org_event")
    try:
        with schema_context(org.schema_name), transaction.atomic():
            with pytest.raises(RuntimeError, match="expected one audit receiver"):
                record_org_event(actor_id=None, action="org.updated", target=org, changes={})
    finally:
        org_event.connect(
            receivers.record_org_event, dispatch_uid="tenant_apps.audit.record_org_event"
        )


def test_org_rename_event_is_written_in_that_org_only(api, world):
    from tenant_apps.audit.models import AuditEvent

    def renames(org_world):
        with schema_context(org_world.org.schema_name):
            return list(
                AuditEvent.objects.filter(action="org.updated").values_list("target_id", "changes")
            )

    before_b = renames(world.b)
    r = api(world.a, world.a.owner).patch("/org", {"name": "Acme Renamed"})
    assert r.status_code == 200, r.content
    expected = (world.a.org.id, {"name": {"from": "Acme", "to": "Acme Renamed"}})
    assert renames(world.a).count(expected) == 1
    assert renames(world.b) == before_b
