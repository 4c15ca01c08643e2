"""migrate_fleet: one planning statement, only schemas behind are migrated, failures reported per tenant."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from provisioning import fleet, services
from tests.provisioning.conftest import events


def _rows(schema_name: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT id, app, name, applied FROM "{schema_name}".django_migrations ORDER BY id'
        )
        return cursor.fetchall()


def _forget(schema_name: str, app: str, name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f'DELETE FROM "{schema_name}".django_migrations WHERE app = %s AND name = %s',
            [app, name],
        )
        assert cursor.rowcount == 1


@pytest.mark.django_db
def test_plan_checks_every_schema_in_one_statement(world):
    schemas = [world.a.org.schema_name, world.b.org.schema_name]
    with CaptureQueriesContext(connection) as ctx:
        plan = fleet.fleet_plan(schemas=schemas)
    assert sorted(plan.up_to_date) == sorted(schemas) and plan.pending == []
    assert plan.statements == 1
    assert len(ctx.captured_queries) == 2  # the registry, then the counts of all schemas
    _forget(world.a.org.schema_name, "sessions", "0001_initial")
    assert fleet.fleet_plan(schemas=schemas).pending == [world.a.org.schema_name]


@pytest.mark.django_db(transaction=True)
def test_migrate_fleet_migrates_what_is_behind_and_reports_failures(world):
    ok_behind, broken, fine_1, fine_2 = (services.spare_create().schema_name for _ in range(4))
    # behind, and fixable: a shared app's migration (a no-op in tenant schemas) is not recorded
    _forget(ok_behind, "sessions", "0001_initial")
    # behind, and failing: the audit app's newest migration (it adds the
    # `token_id` column) is not recorded, so re-running it conflicts
    _forget(broken, "audit", "0002_auditevent_token_id")
    untouched = {s: _rows(s) for s in (fine_1, fine_2)}
    schemas = [ok_behind, broken, fine_1, fine_2]

    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="1 failed"):
        call_command("migrate_fleet", schemas=schemas, workers=2, stdout=out, stderr=err)
    log = err.getvalue()
    assert "4 schemas, 2 up to date, 2 to migrate" in log
    assert f"FAILED {broken}" in log and "already exists" in log
    assert ok_behind not in log.split("FAILED", 1)[1]
    assert "2/2" in log  # the progress bar reached the end

    plan = fleet.fleet_plan(schemas=schemas)
    assert plan.pending == [broken]
    assert {s: _rows(s) for s in (fine_1, fine_2)} == untouched  # skipped without a migration run
    [event] = events("fleet.migrated")
    assert event.changes["migrated"] == 1 and list(event.changes["failed"]) == [broken]

    # resume after fixing: only the broken one is run
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER TABLE "{broken}".audit_auditevent DROP COLUMN token_id')
    err = io.StringIO()
    call_command(
        "migrate_fleet",
        schemas=schemas,
        workers=1,
        skip_shared=True,
        stdout=io.StringIO(),
        stderr=err,
    )
    assert "3 up to date, 1 to migrate" in err.getvalue()
    assert fleet.fleet_plan(schemas=schemas).pending == []


@pytest.mark.django_db(transaction=True)
def test_missing_schema_is_a_failure(world):
    org = services.spare_create()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA "{org.schema_name}" CASCADE')
    with pytest.raises(CommandError):
        call_command(
            "migrate_fleet", schemas=[org.schema_name], skip_shared=True, stderr=io.StringIO()
        )
