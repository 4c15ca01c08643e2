"""Export one organization to a portable JSON archive, and import an archive as a new organization.

Archive (format `taskhub.org-archive`, version 1):

    {
      "format": "taskhub.org-archive", "version": 1, "exported_at": "...",
      "organization": {"id", "slug", "name", "status", "created_at", "schema_name"},
      "domains": [{"domain", "is_primary"}],
      "memberships": [{"user": {"id", "email", "name", "is_active"}, "role", "joined_at"}],
      "tenant": {
        "migrations": ["audit.0001_initial", ...],      # applied in the source schema
        "models": [{"model": "boards.board", "rows": [{"pk": ..., "fields": {...}}]}, ...]
      }
    }

The tenant part holds every row of every model of every TENANT_APPS app,
found through the app registry (new models are included without code
changes), in foreign-key dependency order, serialised with Django's python
serializer (timestamps keep their microseconds). Users live in the public
schema, so memberships carry the users' emails: on import users are matched
by email; see `org_import` for missing users.
"""

import gzip
import json
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.exceptions import ValidationError
from django.core.management.color import no_style
from django.core.serializers.base import DeserializationError
from django.db import connection, models, transaction
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone
from django.utils.duration import duration_iso_string
from django_tenants.utils import schema_context
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticError

from platform_core.errors import InvalidInput
from platform_core.schemas import Email, Name
from provisioning.services import _org_materialize, platform_event
from shared_apps.accounts.models import User, normalize_email
from shared_apps.orgs.models import Domain, Membership, Organization, Role
from shared_apps.orgs.services import members_import
from tenant_apps.audit.services import audit_record
from tenant_apps.boards.schemas import (
    BoardName,
    CommentBody,
    ListName,
    LongText,
    PriorityIn,
    TaskTitle,
)

FORMAT = "taskhub.org-archive"
VERSION = 1
BATCH = 1000


class ArchiveEncoder(json.JSONEncoder):
    """Like DjangoJSONEncoder, but timestamps keep their microseconds (exact round trips)."""

    def default(self, o):
        if isinstance(o, datetime | date | time):
            return o.isoformat()
        if isinstance(o, timedelta):
            return duration_iso_string(o)
        if isinstance(o, uuid.UUID | Decimal):
            return str(o)
        if isinstance(o, bytes | memoryview):
            raise TypeError("binary values are serialised by the model field")
        return super().default(o)


# --- the tenant models ---------------------------------------------------------------


def tenant_app_labels() -> list[str]:
    return [
        config.label for config in apps.get_app_configs() if config.name in settings.TENANT_APPS
    ]


def tenant_models() -> list[type[models.Model]]:
    """Concrete, managed models of the tenant apps, each after the models it points to."""
    candidates = [
        model
        for label in tenant_app_labels()
        for model in apps.get_app_config(label).get_models()
        if model._meta.managed and not model._meta.proxy
    ]
    ordered: list[type[models.Model]] = []
    visiting: set = set()

    def visit(model):
        if model in ordered or model in visiting:
            return  # cycles are fine: PostgreSQL checks Django's FKs at commit (DEFERRABLE)
        visiting.add(model)
        for field in model._meta.concrete_fields:
            target = field.related_model if field.is_relation else None
            if target in candidates and target is not model:
                visit(target)
        visiting.discard(model)
        ordered.append(model)

    for model in sorted(candidates, key=lambda m: m._meta.label_lower):
        visit(model)
    return ordered


def _tables_in_current_schema() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        return {row[0] for row in cursor.fetchall()}


def _applied_tenant_migrations() -> list[str]:
    labels = tenant_app_labels()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT app, name FROM django_migrations WHERE app = ANY(%s) ORDER BY app, name",
            [labels],
        )
        return [f"{app}.{name}" for app, name in cursor.fetchall()]


def disk_tenant_migrations() -> set[str]:
    labels = set(tenant_app_labels())
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return {f"{app}.{name}" for app, name in loader.disk_migrations if app in labels}


# --- export --------------------------------------------------------------------------------


def _export_tenant() -> dict:
    tables = _tables_in_current_schema()
    out: dict = {"migrations": _applied_tenant_migrations(), "models": [], "skipped_models": []}
    for model in tenant_models():
        if model._meta.db_table not in tables:
            out["skipped_models"].append(
                model._meta.label_lower
            )  # not migrated here: no rows exist
            continue
        queryset = model._base_manager.order_by("pk")
        rows = serializers.serialize("python", queryset.iterator(chunk_size=BATCH))
        out["models"].append(
            {
                "model": model._meta.label_lower,
                "rows": [{"pk": r["pk"], "fields": r["fields"]} for r in rows],
            }
        )
    return out


def org_export(*, org: Organization, actor_id=None, via: str = "cli") -> dict:
    """The organization's archive (a consistent snapshot of its schema), and an `org.exported` event."""
    memberships = (
        Membership.objects.filter(organization=org)
        .select_related("user")
        .order_by("joined_at", "id")
    )
    archive: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": timezone.now(),
        "organization": {
            "id": org.id,
            "slug": org.slug or org.deleted_slug,
            "name": org.name,
            "status": org.status,
            "created_at": org.created_at,
            "schema_name": org.schema_name,
        },
        "domains": [
            {"domain": d.domain, "is_primary": d.is_primary}
            for d in Domain.objects.filter(tenant=org).order_by("id")
        ],
        "memberships": [
            {
                "user": {
                    "id": m.user.id,
                    "email": m.user.email,
                    "name": m.user.name,
                    "is_active": m.user.is_active,
                },
                "role": m.role,
                "joined_at": m.joined_at,
            }
            for m in memberships
        ],
    }
    if org.schema_dropped_at is not None:
        raise InvalidInput("This organization's schema has been dropped.", loc=["slug"])
    with schema_context(org.schema_name):
        outermost = not connection.in_atomic_block
        with transaction.atomic():
            if outermost:  # one snapshot for all tables
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            archive["tenant"] = _export_tenant()
    platform_event(
        actor_id=actor_id,
        action="org.exported",
        org=org,
        changes={
            "rows": {m["model"]: len(m["rows"]) for m in archive["tenant"]["models"]},
            "memberships": len(archive["memberships"]),
            "via": via,
        },
    )
    return archive


def dumps(archive: dict) -> str:
    return json.dumps(archive, cls=ArchiveEncoder, ensure_ascii=False, separators=(",", ":"))


def write_archive(archive: dict, path: str | Path) -> None:
    path = Path(path)
    data = dumps(archive).encode()
    if path.suffix == ".gz":
        data = gzip.compress(data)
    path.write_bytes(data)


def read_archive(path: str | Path) -> dict:
    data = Path(path).read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return json.loads(data)


def read_archive_from_text(text: str) -> dict:
    return json.loads(text)


# --- import --------------------------------------------------------------------------------


def _check_archive(archive: dict) -> None:
    if not isinstance(archive, dict) or archive.get("format") != FORMAT:
        raise InvalidInput("Not an organization archive.", loc=["archive"])
    if archive.get("version") != VERSION:
        raise InvalidInput(
            f"Unsupported archive version {archive.get('version')!r}.", loc=["archive", "version"]
        )
    for key in ("organization", "memberships", "tenant"):
        if key not in archive:
            raise InvalidInput(f"The archive has no {key!r}.", loc=["archive", key])
    tenant = archive["tenant"]
    if (
        not isinstance(tenant, dict)
        or not isinstance(tenant.get("models"), list)
        or not isinstance(tenant.get("migrations", []), list)
        or not all(
            isinstance(b, dict) and isinstance(b.get("model"), str) for b in tenant["models"]
        )
        or not all(isinstance(m, str) for m in tenant.get("migrations", []))
    ):
        raise InvalidInput(
            "The archive's `tenant` must hold `migrations` (names) and `models` ({model, rows}).",
            loc=["archive", "tenant"],
        )
    if not isinstance(archive["memberships"], list) or not all(
        isinstance(m, dict) for m in archive["memberships"]
    ):
        raise InvalidInput(
            "The archive's `memberships` must be a list of objects.", loc=["archive", "memberships"]
        )
    unknown = set(archive["tenant"].get("migrations", [])) - disk_tenant_migrations()
    if unknown:
        raise InvalidInput(
            "The archive comes from a newer version (unknown migrations: "
            + ", ".join(sorted(unknown))
            + ").",
            loc=["archive", "tenant", "migrations"],
        )
    known = {m._meta.label_lower for m in tenant_models()}
    strangers = [
        block["model"] for block in archive["tenant"]["models"] if block["model"] not in known
    ]
    if strangers:
        raise InvalidInput(
            "Unknown models in the archive: " + ", ".join(strangers), loc=["archive", "tenant"]
        )
    if not any(m.get("role") == Role.OWNER for m in archive["memberships"]):
        raise InvalidInput("The archive has no owner.", loc=["archive", "memberships"])


# --- validation of imported values ------------------------------------------------------

# At most this many problems are listed in one refusal.
MAX_REPORTED_PROBLEMS = 20


class _Problems:
    def __init__(self):
        self.items: list[dict] = []

    def add(self, loc: list, msg: str) -> None:
        self.items.append({"loc": ["archive", *loc], "msg": f"{_dotted(loc)}: {msg}"})

    def raise_if_any(self) -> None:
        if not self.items:
            return
        shown = self.items[:MAX_REPORTED_PROBLEMS]
        more = len(self.items) - len(shown)
        err = InvalidInput(
            f"The archive holds {len(self.items)} invalid value(s); nothing was imported."
            + (f" The first {len(shown)} are listed." if more else ""),
            loc=shown[0]["loc"],
        )
        err.extra = {"errors": shown}
        raise err


def _dotted(loc: list) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _api_validators() -> dict[str, dict[str, object]]:
    """model -> field -> the pydantic type the API's input schemas validate that field with."""
    return {
        "boards.board": {"name": TypeAdapter(BoardName), "description": TypeAdapter(LongText)},
        "boards.tasklist": {"name": TypeAdapter(ListName)},
        "boards.task": {
            "title": TypeAdapter(TaskTitle),
            "description": TypeAdapter(LongText),
            "priority": TypeAdapter(PriorityIn),
        },
        "boards.comment": {"body": _SchemaField(CommentBody, "body")},
        "invites.invite": {"email": TypeAdapter(Email), "role": TypeAdapter(_role_type())},
    }


class _SchemaField:
    """One field of an input schema, validated with the schema's own validators."""

    def __init__(self, schema, name: str):
        self.schema, self.name = schema, name

    def validate_python(self, value):
        return getattr(self.schema.model_validate({self.name: value}), self.name)


def _role_type():
    return Literal[tuple(Role.values)]


def _pydantic_msg(exc) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        return "; ".join(e.get("msg", "invalid") for e in errors()) or "invalid"
    return str(exc)


def _check_value(problems: _Problems, loc: list, adapter, value) -> None:
    try:
        adapter.validate_python(value)
    except PydanticError as exc:
        problems.add(loc, f"{_pydantic_msg(exc)} (got {_short(value)})")


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _has_nul(value, depth: int = 0) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if depth > 50:
        return True  # absurd nesting: refused too
    if isinstance(value, dict):
        return any(_has_nul(k, depth + 1) or _has_nul(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v, depth + 1) for v in value)
    return False


def _check_memberships(problems: _Problems, memberships) -> None:

    if not isinstance(memberships, list):
        problems.add(["memberships"], "must be a list")
        return
    email_type, role_type = TypeAdapter(Email), TypeAdapter(_role_type())
    name_type = TypeAdapter(Name(150))  # as at sign-up
    seen: dict[str, int] = {}
    for i, m in enumerate(memberships):
        loc = ["memberships", i]
        user = m.get("user") if isinstance(m, dict) else None
        if not isinstance(user, dict):
            problems.add(loc, "must be an object with a `user` object")
            continue
        _check_value(problems, [*loc, "role"], role_type, m.get("role"))
        _check_value(problems, [*loc, "user", "email"], email_type, user.get("email"))
        if user.get("name") not in (None, ""):  # a blank name is stored as ""
            _check_value(problems, [*loc, "user", "name"], name_type, user.get("name"))
        try:
            uuid.UUID(str(user.get("id")))
        except ValueError:
            problems.add([*loc, "user", "id"], f"not a UUID (got {_short(user.get('id'))})")
        if not isinstance(user.get("is_active", True), bool):
            problems.add([*loc, "user", "is_active"], "must be true or false")
        joined = m.get("joined_at")
        try:
            parsed = datetime.fromisoformat(joined) if isinstance(joined, str) else joined
        except ValueError:
            parsed = None
        if not isinstance(parsed, datetime):
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            problems.add(
                [*loc, "joined_at"], f"not an RFC 3339 timestamp with a zone (got {_short(joined)})"
            )
        if isinstance(user.get("email"), str):
            email = normalize_email(user["email"].strip())
            if email in seen:
                problems.add([*loc, "user", "email"], f"{email} is also member {seen[email]}")
            seen.setdefault(email, i)


def _check_tenant_rows(problems: _Problems, blocks: list) -> None:
    """Each row as Django deserialises it, then the model's field validation (types, lengths,
    choices, emails) and the API's input validators for the fields users write."""
    by_model = _api_validators()
    for b, block in enumerate(blocks):
        rows = block.get("rows")
        if not isinstance(rows, list):
            problems.add(["tenant", "models", b, "rows"], "must be a list")
            continue
        model = apps.get_model(block["model"])
        relations = [f.name for f in model._meta.concrete_fields if f.is_relation]
        checks = by_model.get(block["model"], {})
        for r, row in enumerate(rows):
            loc = ["tenant", block["model"], r]
            if not isinstance(row, dict) or not isinstance(row.get("fields"), dict):
                problems.add(loc, "must be an object with `pk` and `fields`")
                continue
            if _has_nul(row):
                problems.add(loc, "text must not contain NUL characters")
                continue
            bad_types = False
            for field in model._meta.concrete_fields:
                if field.is_relation or field.name not in row["fields"]:
                    continue
                try:
                    field.to_python(row["fields"][field.name])
                except ValidationError as exc:
                    problems.add([*loc, field.name], "; ".join(exc.messages))
                    bad_types = True
            if bad_types:
                continue
            try:
                [obj] = serializers.deserialize(
                    "python",
                    [{"model": block["model"], "pk": row.get("pk"), "fields": row["fields"]}],
                )
                # Foreign keys are checked by PostgreSQL at commit (the rows reference each other).
                obj.object.full_clean(
                    exclude=relations, validate_unique=False, validate_constraints=False
                )
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    problems.add([*loc, field], "; ".join(messages))
                continue
            except (DeserializationError, ValueError, TypeError, LookupError, OverflowError) as exc:
                problems.add(loc, str(exc).splitlines()[0][:200] or type(exc).__name__)
                continue
            for field, adapter in checks.items():
                if field in row["fields"]:
                    _check_value(problems, [*loc, field], adapter, row["fields"][field])


def validate_archive(archive: dict, *, name: str | None = None) -> None:
    """Refuse (422, listing the problems) an archive holding any value the API would refuse:
    roles, emails, names, lengths, task priorities and statuses, enums, types. Nothing is written."""

    problems = _Problems()
    source = archive.get("organization")
    if not isinstance(source, dict):
        problems.add(["organization"], "must be an object")
        source = {}
    org_name = name or source.get("name")
    if org_name:
        _check_value(problems, ["organization", "name"], TypeAdapter(Name(100)), org_name)
    _check_memberships(problems, archive.get("memberships"))
    _check_tenant_rows(problems, archive["tenant"]["models"])
    problems.raise_if_any()


def _plan_users(memberships: list[dict], *, create_missing: bool) -> tuple[dict, list[dict]]:
    """({source user id: existing User}, [users to create]) by email; refuse missing users unless allowed."""
    emails = [normalize_email(m["user"]["email"]) for m in memberships]
    existing = {u.email: u for u in User.objects.filter(email__in=emails)}
    found, missing = {}, []
    for m in memberships:
        email = normalize_email(m["user"]["email"])
        if email in existing:
            found[str(m["user"]["id"])] = existing[email]
        else:
            missing.append(m["user"])
    if missing and not create_missing:
        raise InvalidInput(
            "These members have no account here: "
            + ", ".join(sorted(u["email"] for u in missing))
            + " (create them first, or import with --create-missing-users).",
            loc=["archive", "memberships"],
        )
    return found, missing


def _create_inactive_user(source: dict) -> User:
    """A member who has no account on this installation: same id when free, no usable
    password, inactive until an operator activates it."""
    user_id = source["id"] if not User.objects.filter(id=source["id"]).exists() else uuid.uuid4()
    user = User(
        id=user_id,
        email=normalize_email(source["email"]),
        name=source.get("name") or "",
        is_active=False,
    )
    user.set_unusable_password()
    user.save()
    return user


def _remap_fields(model: type[models.Model], fields: dict, remap: dict[str, str]) -> dict:
    """Replace source user ids with this installation's, in UUID and foreign-key columns."""
    if not remap:
        return fields
    for field in model._meta.concrete_fields:
        if not (isinstance(field, models.UUIDField) or field.is_relation):
            continue
        name = field.name
        value = fields.get(name)
        if value is not None and str(value) in remap:
            fields[name] = remap[str(value)]
    return fields


def _load_tenant_rows(blocks: list[dict], remap: dict[str, str]) -> dict[str, int]:
    """Insert the archive's rows into the current (fresh) schema; returns rows per model."""
    counts: dict[str, int] = {}
    loaded_models = []
    m2m_later: list[Any] = []
    for block in blocks:
        model = apps.get_model(block["model"])
        rows = [
            {
                "model": block["model"],
                "pk": r["pk"],
                "fields": _remap_fields(model, dict(r["fields"]), remap),
            }
            for r in block["rows"]
        ]
        objects = list(serializers.deserialize("python", rows))
        if model._meta.parents:  # multi-table inheritance: bulk_create cannot insert these
            for obj in objects:
                obj.save()
        else:
            model._base_manager.bulk_create([o.object for o in objects], batch_size=BATCH)
            m2m_later.extend(o for o in objects if o.m2m_data)
        counts[block["model"]] = len(objects)
        loaded_models.append(model)
    for obj in m2m_later:
        for name, values in obj.m2m_data.items():
            getattr(obj.object, name).set(values)
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), loaded_models):
            cursor.execute(sql)
    return counts


def org_import(
    *,
    archive: dict,
    slug: str,
    name: str | None = None,
    create_missing_users: bool = False,
    actor_id=None,
    via: str = "cli",
) -> Organization:
    """A new organization `slug` holding the archive's data; one transaction, all or nothing.

    Members are matched by email. Members without an account here make the
    import refuse (422), unless `create_missing_users`: then they are created
    inactive with no usable password (an operator activates them) and keep
    their source id when it is free. If a matched user's id differs from the
    source's, user ids in the tenant rows' UUID and foreign-key columns are
    rewritten (free-form JSON such as audit `changes` keeps the source ids).
    Custom domains are not carried over (they point at the source
    installation); the new organization answers at `{slug}.{BASE_DOMAIN}`.
    """
    _check_archive(archive)
    validate_archive(archive, name=name)
    found, missing = _plan_users(archive["memberships"], create_missing=create_missing_users)
    source = archive["organization"]
    behind = sorted(disk_tenant_migrations() - set(archive["tenant"].get("migrations", [])))

    def populate(org: Organization) -> dict:
        users = dict(found)
        for source_user in missing:
            users[str(source_user["id"])] = _create_inactive_user(source_user)
        remap = {old: str(user.id) for old, user in users.items() if old != str(user.id)}
        members_import(  # the one membership writer; `org.imported` below is their event
            org_id=org.id,
            rows=[(users[str(m["user"]["id"])].id, m["role"], m["joined_at"]) for m in archive["memberships"]],
        )
        with schema_context(org.schema_name):
            counts = _load_tenant_rows(archive["tenant"]["models"], remap)
            # The import is a tenant write too: one summary event in the new
            # organization's log, in this transaction (after the archive's own events).
            audit_record(
                actor=actor_id,
                action="org.imported",
                target=org,
                changes={
                    "rows": counts,
                    "memberships": len(archive["memberships"]),
                    "source": {"id": str(source.get("id")), "slug": source.get("slug")},
                    "via": via,
                },
            )
        return {
            "rows": counts,
            "users_created": sorted(u["email"] for u in missing),
            "users_remapped": len(remap),
            "migrations_behind": behind,
            "source_domains": [d["domain"] for d in archive.get("domains", [])],
        }

    return _org_materialize(
        slug=slug,
        name=name or source.get("name") or slug,
        populate=populate,
        actor_id=actor_id,
        action="org.imported",
        changes={"source": {"id": str(source.get("id")), "slug": source.get("slug")}, "via": via},
    )


def archive_counts(archive: dict) -> dict[str, int]:
    return {block["model"]: len(block["rows"]) for block in archive["tenant"]["models"]}
