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
from tenant_apps.audit.models import AuditEvent
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
            AuditEvent.objects.create(  # seeded rows (any target id), not a service's event
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


def _imported_rows(schema_name: str) -> dict[str, list[dict]]:
    """_rows of an imported organization, less the one `org.imported` event its
    import wrote in its own audit log (the archive's events are all there too)."""
    rows = _rows(schema_name)
    events_ = rows.get("audit.auditevent", [])
    own = [e for e in events_ if e["action"] == "org.imported"]
    assert len(own) == 1, own
    rows["audit.auditevent"] = [e for e in events_ if e is not own[0]]
    return rows


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

    original, imported = _rows(source.schema_name), _imported_rows(copy_org.schema_name)
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


def test_import_records_one_summary_event_in_the_org_audit_log(new_org, world, api):
    """Every tenant write records its event, an import too: one `org.imported`
    event in the new organization's own log (GET /audit), with the counts, in
    the import's transaction; the other organization's log is untouched."""
    owner = make_user(unique_email("owner"))
    source = new_org(owner=owner)
    _populate(source, owner, owner)
    archive = export.org_export(org=source, actor_id=None)
    other_before = _rows(world.b.org.schema_name).get("audit.auditevent", [])

    copy_org = export.org_import(archive=archive, slug="audited-import", actor_id=None, via="test")

    r = api("audited-import.localhost", owner).get("/audit", {"action": "org.imported"})
    assert r.status_code == 200, r.content
    [event] = r.json()["items"]
    assert event["target_type"] == "org" and event["target_id"] == str(copy_org.id)
    assert event["changes"]["rows"] == export.archive_counts(archive)
    assert event["changes"]["memberships"] == 1 and event["changes"]["via"] == "test"
    assert event["changes"]["source"]["slug"] == source.slug
    with schema_context(source.schema_name):  # the source's log has no import event
        from tenant_apps.audit.models import AuditEvent as Event

        assert not Event.objects.filter(action="org.imported").exists()
    assert _rows(world.b.org.schema_name).get("audit.auditevent", []) == other_before


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

        archived = AuditEvent.objects.exclude(action="org.imported")  # the import's own event
        assert set(archived.values_list("actor_id", flat=True)) == {created.id}
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
    assert _imported_rows(org.schema_name) == _rows(source.schema_name)


def test_a_deleted_organization_can_be_exported_until_its_schema_is_dropped(tmp_path, new_org):
    from django.core.management import call_command

    owner = make_user(unique_email("owner"))
    org = new_org(owner=owner)
    _populate(org, owner, owner)
    slug = org.slug
    services.org_delete(org=org, actor_id=None)
    path = tmp_path / "tomb.json.gz"
    call_command("org_export", slug, str(path))
    # 5 from _populate, and the owner's `member.added` (via "provision") before them
    assert export.archive_counts(export.read_archive(path))["audit.auditevent"] == 6
    with connection.cursor() as cursor:
        cursor.execute(
            "SET CONSTRAINTS ALL IMMEDIATE"
        )  # this test's inserts share the drop's transaction
    services.org_drop_schema(org=org)
    with pytest.raises(Exception, match="No such organization"):
        call_command("org_export", slug, str(path))


# --- imported values pass the API's validation (issue 11, finding 10) ----------------------
# Before: `org_import` stored any role string (`superuser` was imported as a
# membership role), and any task priority, status, length or email.


def _archive_file(tmp_path, new_org, world) -> tuple:
    """A real archive (JSON text, as org_export writes it) of an organization with data."""
    owner, member = make_user(unique_email("owner")), make_user(unique_email("member"))
    source = new_org(owner=owner)
    add_member(source, member, "member")
    _populate(source, owner, member)
    with schema_context(source.schema_name):
        from tenant_apps.invites.models import Invite

        Invite.objects.create(
            email=unique_email("invitee"),
            role="member",
            token_hash=uuid.uuid4().hex,
            invited_by=owner.id,
            expires_at=timezone.now() + timedelta(days=7),
        )
    text = export.dumps(export.org_export(org=source))
    return source, text


def _block(archive, model):
    return next(b for b in archive["tenant"]["models"] if b["model"] == model)


def _state(world) -> dict:
    """What a refused import must leave as it was: organizations, memberships, users, and
    the other tenants' rows."""
    return {
        "orgs": sorted(Organization.objects.values_list("id", "slug", "status")),
        "memberships": sorted(Membership.objects.values_list("id", "role")),
        "users": User.objects.count(),
        "a": _rows(world.a.org.schema_name),
        "b": _rows(world.b.org.schema_name),
    }


def _set_member_role(archive, role):
    member = next(m for m in archive["memberships"] if m["role"] == "member")
    member["role"] = role


def _set(model, field, value):
    def mutate(archive):
        _block(archive, model)["rows"][0]["fields"][field] = value

    return mutate


def _set_user(field, value):
    def mutate(archive):
        archive["memberships"][-1]["user"][field] = value

    return mutate


BAD_VALUES = {
    "role superuser": (lambda a: _set_member_role(a, "superuser"), "superuser"),
    "role with spaces": (lambda a: _set_member_role(a, " owner"), "role"),
    "role not a string": (lambda a: _set_member_role(a, 1), "role"),
    "member email": (_set_user("email", "not-an-email"), "email"),
    "member name too long": (_set_user("name", "x" * 151), "name"),
    "member id": (_set_user("id", "nope"), "id"),
    "joined_at": (lambda a: a["memberships"][0].update(joined_at="yesterday"), "joined_at"),
    "task priority": (_set("boards.task", "priority", "critical"), "priority"),
    "task status": (_set("boards.task", "status", "archived"), "status"),
    "task title empty": (_set("boards.task", "title", "  "), "title"),
    "task title too long": (_set("boards.task", "title", "t" * 201), "title"),
    "task rank not a number": (_set("boards.task", "rank", "abc"), "rank"),
    "task due_at": (_set("boards.task", "due_at", "soon"), "due_at"),
    "board name too long": (_set("boards.board", "name", "b" * 101), "name"),
    "board description too long": (_set("boards.board", "description", "d" * 10001), "description"),
    "NUL in a description": (_set("boards.board", "description", "a\x00b"), "NUL"),
    "list name blank": (_set("boards.tasklist", "name", ""), "name"),
    "comment body blank": (_set("boards.comment", "body", "   "), "body"),
    "invite role": (_set("invites.invite", "role", "superuser"), "superuser"),
    "invite email": (_set("invites.invite", "email", "nobody"), "email"),
    "invite state": (_set("invites.invite", "state", "limbo"), "state"),
    "audit action too long": (_set("audit.auditevent", "action", "a" * 65), "action"),
    "audit ip": (_set("audit.auditevent", "ip", "999.1.1.1"), "ip"),
    "org name too long": (lambda a: a["organization"].update(name="n" * 101), "name"),
}


_GOOD_ARCHIVE: list[str] = []  # made once: each case only edits a copy


@pytest.mark.parametrize("case", list(BAD_VALUES))
def test_import_refuses_values_the_api_refuses(case, tmp_path, new_org, world):
    if not _GOOD_ARCHIVE:
        _GOOD_ARCHIVE.append(_archive_file(tmp_path, new_org, world)[1])
    text = _GOOD_ARCHIVE[0]
    archive = export.read_archive_from_text(text)
    mutate, expected = BAD_VALUES[case]
    mutate(archive)
    spare = services.spare_create()
    before = _state(world)

    with pytest.raises(InvalidInput) as raised:
        export.org_import(archive=archive, slug="bad-import", create_missing_users=True)
    messages = " | ".join(e["msg"] for e in raised.value.extra["errors"])
    assert expected in messages, messages
    assert "nothing was imported" in raised.value.detail
    # No partial write: no organization, membership, user or row anywhere; the spare is still one.
    assert not Organization.objects.filter(slug="bad-import").exists()
    assert Organization.objects.get(id=spare.id).status == OrgStatus.SPARE
    assert _state(world) == before
    assert not Membership.objects.filter(role="superuser").exists()


def test_the_org_import_command_refuses_a_superuser_role(tmp_path, new_org, world):
    """The attack as reported: an edited archive file whose member is a `superuser`."""
    from django.core.management import call_command
    from django.core.management.base import CommandError

    source, text = _archive_file(tmp_path, new_org, world)
    archive = export.read_archive_from_text(text)
    _set_member_role(archive, "superuser")
    _set("boards.task", "priority", "critical")(archive)  # every problem is listed at once
    path = tmp_path / "edited.json"
    path.write_text(export.dumps(archive))
    before = _state(world)

    with pytest.raises(CommandError) as raised:
        call_command("org_import", str(path), slug="cli-superuser")
    message = str(raised.value)
    assert "superuser" in message and "critical" in message and "nothing was imported" in message
    assert "memberships[" in message and "boards.task[0].priority" in message
    assert not Organization.objects.filter(slug="cli-superuser").exists()
    assert _state(world) == before

    # The untouched file still imports, with the roles it had.
    path.write_text(text)
    call_command("org_import", str(path), slug="cli-clean")
    org = Organization.objects.get(slug="cli-clean")
    assert set(Membership.objects.filter(organization=org).values_list("role", flat=True)) == {
        "owner",
        "member",
    }
    assert _imported_rows(org.schema_name) == _rows(source.schema_name)


def test_malformed_archive_structure_is_refused_not_a_crash(tmp_path, new_org, world):
    _, text = _archive_file(tmp_path, new_org, world)
    for mutate in (
        lambda a: a.update(tenant=[]),
        lambda a: a["tenant"].update(models={"x": 1}),
        lambda a: a["tenant"]["models"].append("boards.task"),
        lambda a: a.update(memberships={"role": "owner"}),
        lambda a: a["memberships"].append("owner"),
        lambda a: _block(a, "boards.task").update(rows={"pk": 1}),
        lambda a: _block(a, "boards.task")["rows"].append(["not", "a", "row"]),
    ):
        archive = export.read_archive_from_text(text)
        mutate(archive)
        with pytest.raises(InvalidInput):
            export.org_import(archive=archive, slug="malformed-org")
        assert not Organization.objects.filter(slug="malformed-org").exists()
