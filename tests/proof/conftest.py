"""Shared parts of the "proof under attack" suites.

- `pair`: organizations A and B seeded *identically* through the services
  (same board, list and task names, same positions, a comment, an invite),
  plus one canary per organization whose text names it ("acme-canary",
  "globex-canary"), so a leak of B's data into A shows up by text as well as
  by id. Seeded inside each test (rolled back with it).
- OpenAPI helpers: the operations of an API and a minimal valid body built
  from an operation's requestBody schema (UUID fields filled with the right
  kind of object by field name).
- Leak checks: `markers_of(B)` (ids, emails, names, slug, schema) and
  `assert_no_leak(response, markers)` over body and headers.
- `checksum(world)`: a digest of every row of both organizations' schemas and
  of the public tables a request could write, to prove "no partial write".
"""

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from django_tenants.utils import schema_context

from tests.support import OrgWorld, restore_public_rows

API_PREFIX = "/api/v1"
LOOKALIKE_INVITEE = "invitee@lookalike.test"
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


# --- seeding ---------------------------------------------------------------------------


def owner_actor(ow: OrgWorld):
    from platform_core.auth import Actor

    return Actor(
        user_id=ow.owner.id,
        email=ow.owner.email,
        name=ow.owner.name,
        org_id=ow.org.id,
        role="owner",
    )


@dataclass
class Seed:
    """One organization's seeded objects: kind -> ids (first one is the default target)."""

    ow: OrgWorld
    ids: dict = field(default_factory=dict)
    invite_token: str = (
        ""  # the look-alike invite's token (from the outbox row, as the email would carry it)
    )
    api_token: str = ""  # the owner's API token (all scopes)

    def first(self, kind: str):
        return self.ids[kind][0]


def seed_org(ow: OrgWorld, canary: str) -> Seed:
    """Board "Roadmap" with lists To do/Doing/Done × 2 tasks (assigned to the member),
    a comment, an invite to a shared look-alike email, then the canary objects, and
    two API tokens of the owner (all scopes, read only)."""
    from platform_core.models import OutboxJob
    from tenant_apps.boards import services as boards
    from tenant_apps.invites import services as invites

    actor = owner_actor(ow)
    seed = Seed(ow=ow)
    add = lambda kind, obj: seed.ids.setdefault(kind, []).append(obj.id)  # noqa: E731
    with schema_context(ow.org.schema_name):
        board = boards.board_create(actor=actor, name="Roadmap", description="Quarterly plans")
        add("board", board)
        lists = []
        for name in ("To do", "Doing", "Done"):
            task_list = boards.list_create(actor=actor, board=board, name=name)
            add("list", task_list)
            lists.append(task_list)
        first_task = None
        for task_list in lists:
            for title in ("Write spec", "Review spec"):
                task = boards.task_create(
                    actor=actor,
                    task_list=task_list,
                    title=title,
                    description="Same everywhere",
                    assignee_id=ow.member.id,
                    priority="high",
                )
                add("task", task)
                first_task = first_task or task
        add("comment", boards.comment_create(actor=actor, task=first_task, body="Looks good"))
        add("comment", boards.comment_create(actor=actor, task=first_task, body="Agreed"))
        invite = invites.invite_create(
            actor=actor, org_id=ow.org.id, email=LOOKALIKE_INVITEE, role="member"
        )
        add("invite", invite)
        # canaries: text that names the organization
        canary_board = boards.board_create(
            actor=actor, name=f"{canary} board", description=f"{canary} plans"
        )
        add("board", canary_board)
        canary_list = boards.list_create(actor=actor, board=canary_board, name=f"{canary} list")
        add("list", canary_list)
        canary_task = boards.task_create(
            actor=actor,
            task_list=canary_list,
            title=f"{canary} task",
            description=f"{canary} secret",
        )
        add("task", canary_task)
        add(
            "comment",
            boards.comment_create(actor=actor, task=canary_task, body=f"{canary} comment"),
        )
        add(
            "invite",
            invites.invite_create(
                actor=actor, org_id=ow.org.id, email=f"{canary}@invitee.test", role="admin"
            ),
        )
    seed.ids["user"] = [ow.member.id, ow.admin.id, ow.owner.id]
    from tests.tokens.helpers import make_token

    seed.api_token, token_id = make_token(ow, ow.owner)
    # A second token of the owner: GET /tokens pages, so a real cursor exists
    # (test_bad_input's cursor families need two items of every listing).
    _, read_only_id = make_token(ow, ow.owner, scopes=("read",))
    seed.ids["token"] = [token_id, read_only_id]
    row = OutboxJob.objects.get(kwargs__invite_id=str(invite.id))
    seed.invite_token = row.kwargs["token"]
    return seed


@dataclass
class Pair:
    a: Seed
    b: Seed
    b_markers: set
    a_known_ids: set  # every id a GET on A's host may legitimately show


@pytest.fixture(scope="module")
def committed_pair(django_db_setup, django_db_blocker):
    """A and B seeded once per module and committed (seeding both costs ~0.7 s;
    every test still runs in its own rolled-back transaction, so a test may delete
    or change the seeded objects). Removed again at the end of the module: tenant
    tables are not truncated by anything else."""
    world = pytest.world_snapshot
    with django_db_blocker.unblock():
        restore_public_rows(world)
        before = _row_ids(world)
        try:
            a = seed_org(world.a, "acme-canary")
            b = seed_org(world.b, "globex-canary")
            seeded = Pair(
                a=a, b=b, b_markers=markers_of(world.b, b), a_known_ids=known_ids(world.a)
            )
        except BaseException:
            _remove_new_rows(world, before)
            raise
    yield seeded
    with django_db_blocker.unblock():
        _remove_new_rows(world, before)


@pytest.fixture
def pair(world, committed_pair) -> Pair:
    return committed_pair


def _tenant_models():
    from tenant_apps.audit.models import AuditEvent
    from tenant_apps.boards.models import Board, Comment, Task, TaskList
    from tenant_apps.invites.models import Invite
    from tenant_apps.tokens.models import ApiToken

    return (Comment, Task, TaskList, Board, Invite, ApiToken, AuditEvent)


def _row_ids(world) -> dict:
    from platform_core.models import OutboxJob

    ids = {("public", OutboxJob): set(OutboxJob.objects.values_list("id", flat=True))}
    for ow in (world.a, world.b):
        with schema_context(ow.org.schema_name):
            for model in _tenant_models():
                ids[(ow.org.schema_name, model)] = set(model.objects.values_list("id", flat=True))
    return ids


def _remove_new_rows(world, before: dict) -> None:
    """Delete what the module seeded (audit events too: the append-only trigger is
    switched off for that one statement, inside a transaction)."""
    from django.db import connection, transaction

    from tenant_apps.audit.models import AuditEvent

    for (schema, model), old in before.items():
        with schema_context(schema), transaction.atomic():
            new = set(model.objects.values_list("id", flat=True)) - old
            if not new:
                continue
            if model is AuditEvent:
                with connection.cursor() as cursor:
                    cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
                    model.objects.filter(id__in=new).delete()
                    cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")
            else:
                model.objects.filter(id__in=new).delete()


def tenant_ids(ow: OrgWorld) -> set:
    """Every id stored in an organization's schema (primary keys and id columns)."""
    from tenant_apps.audit.models import AuditEvent
    from tenant_apps.boards.models import Board, Comment, Task, TaskList
    from tenant_apps.invites.models import Invite
    from tenant_apps.tokens.models import ApiToken

    ids: set = set()
    with schema_context(ow.org.schema_name):
        for model in (Board, TaskList, Task, Comment, Invite, ApiToken, AuditEvent):
            for row in model.objects.values():
                ids.update(str(v) for v in row.values() if isinstance(v, uuid.UUID))
    return ids


def known_ids(ow: OrgWorld) -> set:
    from shared_apps.orgs.models import Membership

    members = Membership.objects.filter(organization=ow.org).values_list("user_id", flat=True)
    return tenant_ids(ow) | {str(u) for u in members} | {str(ow.org.id)}


def markers_of(ow: OrgWorld, seed: Seed) -> set:
    """Strings that must never appear in a response of another organization's host."""
    users = [ow.owner, ow.admin, ow.member]
    markers = {ow.org.slug, ow.org.name, ow.org.schema_name, ow.host, str(ow.org.id), ow.org.id.hex}
    for user in users:
        markers |= {str(user.id), user.id.hex, user.email, user.name}
    for id_ in tenant_ids(ow):
        markers |= {id_, id_.replace("-", "")}
    markers.add(seed.invite_token)
    markers.add(seed.api_token)
    return {m.lower() for m in markers if m}


def response_text(response) -> str:
    body = b"" if getattr(response, "streaming", False) else response.content
    headers = "\n".join(f"{k}: {v}" for k, v in response.items())
    return (headers + "\n" + body.decode("utf-8", "replace")).lower()


def assert_no_leak(response, markers: set, where: str = "") -> None:
    text = response_text(response)
    leaked = sorted(m for m in markers if m in text)
    assert not leaked, (
        f"{where}: response leaks the other organization's data {leaked}: {text[:800]}"
    )


def uuids_in(response) -> set:
    return {u.lower() for u in UUID_RE.findall(response.content.decode("utf-8", "replace"))}


# --- no partial writes ----------------------------------------------------------------------


def _tables():
    from platform_core.models import OutboxJob
    from shared_apps.accounts.models import AuthSession, User
    from shared_apps.orgs.models import Domain, Membership, Organization, PlatformEvent

    public = [
        m._meta.db_table
        for m in (User, AuthSession, Organization, Domain, Membership, PlatformEvent, OutboxJob)
    ]
    tenant = [m._meta.db_table for m in _tenant_models()]
    return public, tenant


def checksum(world) -> tuple:
    """One query: an md5 of every row of every table a request could write, in
    public and in both organizations' schemas -> ((table, md5), ...)."""
    from django.db import connection

    public, tenant = _tables()
    parts = [f'"public"."{t}"' for t in public]
    parts += [f'"{ow.org.schema_name}"."{t}"' for ow in (world.a, world.b) for t in tenant]
    selects = ", ".join(
        f"(SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM {p} x)"
        for p in parts
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {selects}")
        return tuple(zip(parts, cursor.fetchone(), strict=True))


def changed_tables(before: tuple, after: tuple) -> list[str]:
    return [b[0] for b, a in zip(before, after, strict=True) if b != a]


# --- OpenAPI -----------------------------------------------------------------------------------

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Operation:
    method: str  # upper case
    path: str  # as in the schema, with {params}
    op: dict = field(hash=False, compare=False)

    @property
    def id(self) -> str:
        return f"{self.method} {self.path.removeprefix(API_PREFIX)}"

    @property
    def path_params(self) -> list[str]:
        return [p["name"] for p in self.op.get("parameters", []) if p["in"] == "path"]

    @property
    def query_params(self) -> list[dict]:
        return [p for p in self.op.get("parameters", []) if p["in"] == "query"]

    def body_schema(self, schema: dict) -> dict | None:
        content = self.op.get("requestBody", {}).get("content", {})
        node = content.get("application/json", {}).get("schema")
        return deref(schema, node) if node else None

    @property
    def security(self) -> set:
        return {name for item in self.op.get("security", []) for name in item}

    @property
    def auth(self) -> str | None:
        """Who the operation admits (`x-auth`: member, user, operator), None when open."""
        return self.op.get("x-auth")

    @property
    def success_codes(self) -> set:
        return {int(c) for c in self.op.get("responses", {}) if c.startswith("2")}

    @property
    def streams(self) -> bool:
        content = self.op.get("responses", {}).get("200", {}).get("content", {})
        return "text/event-stream" in content


def operations(schema: dict) -> list[Operation]:
    return [
        Operation(method.upper(), path, op)
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
        if method in HTTP_METHODS
    ]


def in_process_schema(which: str) -> dict:
    """The schema the API object serves at /api/v1/openapi.json (for collection-time
    parametrization; tests compare it with the one served over HTTP)."""
    from platform_core.api import public_api, tenant_api

    api = tenant_api if which == "tenant" else public_api
    return json.loads(json.dumps(api.get_openapi_schema(path_prefix=API_PREFIX), default=str))


def deref(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def non_null(schema: dict, node: dict) -> dict:
    """The first non-null alternative of an `anyOf` (Optional[X] -> X)."""
    node = deref(schema, node)
    for key in ("anyOf", "oneOf"):
        if key in node:
            options = [
                deref(schema, o) for o in node[key] if deref(schema, o).get("type") != "null"
            ]
            merged = {k: v for k, v in node.items() if k != key}
            return {**merged, **options[0]} if options else merged
    return node


def is_nullable(schema: dict, node: dict) -> bool:
    node = deref(schema, node)
    return any(
        deref(schema, o).get("type") == "null"
        for o in node.get("anyOf", []) + node.get("oneOf", [])
    )


class Unmapped(AssertionError):
    """An operation's parameter or body field the generators cannot fill: add it to the maps."""


# Parameter / field name -> kind of object. `id` is resolved by the path prefix.
PARAM_KINDS = {
    "board_id": "board",
    "list_id": "list",
    "task_id": "task",
    "comment_id": "comment",
    "invite_id": "invite",
    "token_id": "token",
    "user_id": "user",
    "assignee_id": "user",
    "actor_id": "user",
    "target_id": "task",
}
PREFIX_KINDS = {
    "boards": "board",
    "lists": "list",
    "tasks": "task",
    "comments": "comment",
    "invites": "invite",
    "members": "user",
    "tokens": "token",
}


def kind_of(name: str, path: str = "") -> str:
    if name == "id":
        first = path.removeprefix(API_PREFIX).strip("/").split("/")[0]
        if first in PREFIX_KINDS:
            return PREFIX_KINDS[first]
    if name in PARAM_KINDS:
        return PARAM_KINDS[name]
    raise Unmapped(f"parameter/field {name!r} of {path} has no entry in PARAM_KINDS / PREFIX_KINDS")


_ALTERNATION = re.compile(r"^\^\(?([A-Za-z0-9_|-]+)\)?\$$")


def value_for(schema: dict, name: str, node: dict, ids: dict, path: str):
    """A valid value for one field/parameter; UUIDs come from `ids` (kind -> id)."""
    prop = non_null(schema, node)
    if "enum" in prop:
        return prop["enum"][0]
    if "const" in prop:
        return prop["const"]
    kind = prop.get("type")
    fmt = prop.get("format")
    if fmt == "uuid":
        return str(ids[kind_of(name, path)])
    if fmt == "date-time":
        return (datetime.now(UTC) + timedelta(days=7)).isoformat()
    if kind == "string":
        if name == "slug":  # the slug pattern (and the reserved words) of shared_apps.orgs.validation
            return f"proof-{uuid.uuid4().hex[:10]}"
        default = f"Proof {name}"[: prop.get("maxLength", 64)]
        if "pattern" in prop and not re.search(prop["pattern"], default):  # a rule on text the default meets
            match = _ALTERNATION.match(prop["pattern"])
            if not match:
                raise Unmapped(
                    f"{path}: cannot make a value for pattern {prop['pattern']!r} of {name!r}"
                )
            return match.group(1).split("|")[0]
        if name == "email" or fmt == "email":
            return f"proof-{uuid.uuid4().hex[:10]}@example.com"
        value = f"Proof {name}"
        return value[: prop.get("maxLength", len(value))].ljust(prop.get("minLength", 0), "x")
    if kind == "integer":
        return max(0, prop.get("minimum", 0))
    if kind == "number":
        return max(0.0, prop.get("minimum", 0.0))
    if kind == "boolean":
        return True
    if kind == "object":
        return minimal_body(schema, prop, ids, path)
    if kind == "array" and not prop.get("minItems"):
        return []
    if kind == "array":  # as few items as allowed, each a valid value
        return [value_for(schema, name, prop["items"], ids, path) for _ in range(prop["minItems"])]
    raise Unmapped(f"{path}: no generator for field {name!r} ({prop})")


def minimal_body(schema: dict, body: dict, ids: dict, path: str) -> dict:
    """Required fields only; nullable-but-required fields get a real value too."""
    body = deref(schema, body)
    props = body.get("properties", {})
    return {
        name: value_for(schema, name, props[name], ids, path) for name in body.get("required", [])
    }


def uuid_fields(schema: dict, body: dict) -> list[str]:
    body = deref(schema, body)
    return [
        n
        for n, p in body.get("properties", {}).items()
        if non_null(schema, p).get("format") == "uuid"
    ]


def fill_path(op: Operation, ids: dict) -> str:
    path = op.path
    for name in op.path_params:
        path = path.replace("{" + name + "}", str(ids[kind_of(name, op.path)]))
    return path


def request(client, method: str, path: str, body=None, **extra):
    """Any method through the whole stack (`path` already carries /api/v1)."""
    data = "" if body is None else json.dumps(body)
    return client.raw(method, path, data, **extra)
