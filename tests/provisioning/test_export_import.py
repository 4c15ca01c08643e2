"""Export an organization to a JSON archive and import it under a new slug: an exact round trip."""

import copy
import uuid
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from platform_core.errors import InvalidInput
from provisioning import export, services
from shared_apps.accounts.models import User
from shared_apps.orgs.models import Membership, Organization, OrgStatus, Role
from tenant_apps.audit.services import audit_record
from tests.provisioning.conftest import events
from tests.support import add_member, make_user, unique_email

pytestmark = pytest.mark.django_db


def _tables() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        return {r[0] for r in cursor.fetchall()}


def _populate(org, owner, member) -> None:
    """Boards, lists, tasks, comments (when the boards app has landed) and audit events."""
    with schema_context(org.schema_name), transaction.atomic():
        tables = _tables()
        if "boards_board" in tables:
            from tenant_apps.boards.models import Board, Comment, Task, TaskList

            for b in range(2):
                board = Board.objects.create(
                    name=f"Board {b}", description="d" * b, created_by=owner.id
                )
                for li in range(2):
                    task_list = TaskList.objects.create(
                        board=board, name=f"List {li}", rank=(li + 1) * 1000
                    )
                    for t in range(3):
                        task = Task.objects.create(
                            board=board,
                            list=task_list,
                            title=f"Task {t}",
                            rank=(t + 1) * 1000,
                            created_by=owner.id,
                            assignee_id=member.id if t % 2 else None,
                            due_at=timezone.now() + timedelta(days=t, microseconds=123457),
                            priority="high",
                            description="ünïcode ✓",
                        )
                        Comment.objects.create(task=task, author_id=member.id, body=f"comment {t}")
        for i in range(5):
            audit_record(
                actor_id=owner.id,
                action="board.created",
                target_type="board",
                target_id=uuid.uuid4(),
                changes={"name": {"from": None, "to": f"B{i}"}, "nested": {"list": [1, 2.5, None]}},
            )


def _rows(schema_name: str) -> dict[str, list[dict]]:
    with schema_context(schema_name):
        tables = _tables()
        return {
            m._meta.label_lower: list(m._base_manager.order_by("pk").values())
            for m in export.tenant_models()
            if m._meta.db_table in tables
        }


def test_round_trip_reproduces_every_row(tmp_path, new_org, api):
    owner, member = make_user(unique_email("owner")), make_user(unique_email("member"))
    source = new_org(owner=owner)
    add_member(source, member, "member")
    _populate(source, owner, member)

    archive = export.org_export(org=source, actor_id=None)
    path = tmp_path / "org.json.gz"
    export.write_archive(archive, path)
    loaded = export.read_archive(path)
    assert loaded["organization"]["slug"] == source.slug
    assert {m["user"]["email"] for m in loaded["memberships"]} == {owner.email, member.email}
    counts = export.archive_counts(loaded)
    assert counts["audit.auditevent"] >= 5

    spare = services.spare_create()
    copy_org = export.org_import(archive=loaded, slug="imported-org", actor_id=None)
    assert copy_org.id == spare.id  # claimed from the pool like any new organization
    assert copy_org.schema_name != source.schema_name

    original, imported = _rows(source.schema_name), _rows(copy_org.schema_name)
    assert original.keys() == imported.keys()
    assert {k: len(v) for k, v in original.items()} == counts
    assert original == imported  # same ids, same values, microseconds included
    if "boards.task" in original:
        assert len(original["boards.task"]) == 12 and len(original["boards.comment"]) == 12

    def roles(org):
        members = Membership.objects.filter(organization=org).select_related("user")
        return {m.user.email: m.role for m in members}

    assert roles(copy_org) == roles(source) == {owner.email: "owner", member.email: "member"}
    assert api("imported-org.localhost", member).get("/org").json()["name"] == source.name
    assert events("org.exported", source)[0].changes["rows"] == counts
    [imported_event] = events("org.imported", copy_org)
    assert imported_event.changes["rows"] == counts
    assert imported_event.changes["source"]["slug"] == source.slug


def test_import_refuses_members_without_an_account_unless_asked(new_org):
    owner = make_user(unique_email("owner"))
    source = new_org(owner=owner)
    _populate(source, owner, owner)
    archive = copy.deepcopy(export.org_export(org=source))
    stranger = unique_email("stranger")
    archive["memberships"][0]["user"]["email"] = stranger  # the owner has no account "here"
    spares_before = services.spare_count()

    with pytest.raises(InvalidInput, match=stranger):
        export.org_import(archive=archive, slug="no-users")
    assert not Organization.objects.filter(slug="no-users").exists()

    org = export.org_import(
        archive=export.read_archive_from_text(export.dumps(archive)),
        slug="with-users",
        create_missing_users=True,
    )
    created = User.objects.get(email=stranger)
    assert not created.is_active and not created.has_usable_password()
    assert created.id != owner.id  # the source id is taken here (same installation): remapped
    assert Membership.objects.get(organization=org).user_id == created.id
    with schema_context(org.schema_name):
        from tenant_apps.audit.models import AuditEvent

        assert set(AuditEvent.objects.values_list("actor_id", flat=True)) == {created.id}
    assert services.spare_count() == spares_before


def test_import_is_all_or_nothing(new_org):
    owner = make_user(unique_email("owner"))
    source = new_org(owner=owner)
    _populate(source, owner, owner)
    archive = export.org_export(org=source)
    audit = next(b for b in archive["tenant"]["models"] if b["model"] == "audit.auditevent")
    audit["rows"].append(copy.deepcopy(audit["rows"][0]))  # duplicate primary key
    spare = services.spare_create()

    with pytest.raises(Exception):  # noqa: B017 - the database's IntegrityError
        with transaction.atomic():
            export.org_import(archive=archive, slug="half-done")
    assert not Organization.objects.filter(slug="half-done").exists()
    assert Organization.objects.get(id=spare.id).status == OrgStatus.SPARE


def test_import_refuses_archives_from_newer_code(new_org):
    archive = export.org_export(org=new_org())
    archive["tenant"]["migrations"].append("audit.9999_from_the_future")
    with pytest.raises(InvalidInput, match="newer version"):
        export.org_import(archive=archive, slug="future-org")
    bad = {**archive, "format": "something-else"}
    with pytest.raises(InvalidInput):
        export.org_import(archive=bad, slug="future-org")
    no_owner = copy.deepcopy(archive)
    no_owner["tenant"]["migrations"].pop()
    for m in no_owner["memberships"]:
        m["role"] = Role.MEMBER
    with pytest.raises(InvalidInput, match="no owner"):
        export.org_import(archive=no_owner, slug="future-org")


def test_export_and_import_commands(tmp_path, new_org, world):
    from django.core.management import call_command

    owner = make_user(unique_email("owner"))
    source = new_org(owner=owner)
    _populate(source, owner, owner)
    path = tmp_path / "archive.json"
    call_command("org_export", source.slug, str(path))
    call_command("org_import", str(path), slug="cli-copy")
    org = Organization.objects.get(slug="cli-copy")
    assert _rows(org.schema_name) == _rows(source.schema_name)


def test_a_deleted_organization_can_be_exported_until_its_schema_is_dropped(tmp_path, new_org):
    from django.core.management import call_command

    owner = make_user(unique_email("owner"))
    org = new_org(owner=owner)
    _populate(org, owner, owner)
    slug = org.slug
    services.org_delete(org=org, actor_id=None)
    path = tmp_path / "tomb.json.gz"
    call_command("org_export", slug, str(path))
    assert export.archive_counts(export.read_archive(path))["audit.auditevent"] == 5
    with connection.cursor() as cursor:
        cursor.execute(
            "SET CONSTRAINTS ALL IMMEDIATE"
        )  # this test's inserts share the drop's transaction
    services.org_drop_schema(org=org)
    with pytest.raises(Exception, match="No such organization"):
        call_command("org_export", slug, str(path))
