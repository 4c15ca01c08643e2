"""Job functions for the job tests (importable by a worker)."""

from django.db import connection


def mark_and_count(*, marker: str) -> dict:
    """Write one row in the job's schema and report what that schema holds."""
    from tenant_apps.audit.models import AuditEvent

    AuditEvent.objects.create(action="test.job", target_type="test", changes={"marker": marker})
    rows = AuditEvent.objects.filter(action="test.job", changes__marker=marker)
    orgs = sorted({r.changes.get("org", "") for r in rows})
    return {"schema": connection.schema_name, "count": rows.count(), "orgs": orgs}


def whoami() -> str:
    return connection.schema_name


def fail() -> None:
    raise RuntimeError("this job always fails")
