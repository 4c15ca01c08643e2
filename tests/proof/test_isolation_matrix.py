"""The isolation matrix, generated from the organization host's OpenAPI schema.

For every operation (method + path) of the organization-host API, with A and
B holding look-alike data (same names and positions, seeded identically):

- no token: 401; B's API token on A's host: 401 (tokens live in B's schema:
  A's host cannot even find it);
- (a) a non-member's token: 403 (`POST /invites/accept`, open to any signed-in
  user, answers 404 for a bad token instead);
- (b) a member of B (its owner) on A's host: 403, by header and, for the
  event stream, by `?access_token=`;
- (c) B's ids (path parameters, body UUID fields) on A's host by A's owner:
  404 (a B user id in a body field, e.g. `assignee_id`: 422, "the assignee must
  be a member"); B's ids in UUID query filters: 200 with no items; B's real
  invite token accepted on A's host: 404;
- (d) A's owner with A's ids: the documented 2xx; every A response above is
  scanned (body and headers) for B's ids, names and emails, and a GET answer
  may only name ids that exist in A ("closed world");
- denied and not-found calls change nothing (row counts of both schemas and
  the public tables).

Path parameters come from PARAM_KINDS (name -> kind of object); bodies are
built from the requestBody schema (required fields; UUID fields get the
right kind's id). A new endpoint joins the matrix by itself; one whose
parameters or body fields the maps cannot fill fails `test_every_operation_is_mapped`.
"""

import pytest

from tests.proof.conftest import (
    API_PREFIX,
    Operation,
    assert_no_leak,
    changed_tables,
    checksum,
    fill_path,
    in_process_schema,
    kind_of,
    minimal_body,
    non_null,
    operations,
    request,
    uuid_fields,
    uuids_in,
)
from tests.support import ApiClient

pytestmark = pytest.mark.django_db

SCHEMA = in_process_schema("tenant")
OPS = operations(SCHEMA)
OP_IDS = [op.id for op in OPS]

# Operations of an organization host that a signed-in non-member may call. Anything
# else answering non-members is a hole: `test_only_accept_is_open_to_non_members`.
OPEN_TO_ANY_USER = {"POST /invites/accept"}


def ids_of(seed) -> dict:
    """kind -> the id to use (`user` is the organization's plain member: on B's side,
    a user who belongs to B only)."""
    return {kind: values[0] for kind, values in seed.ids.items()}


def build(op: Operation, ids: dict, body_ids: dict | None = None) -> tuple[str, dict | None]:
    body_schema = op.body_schema(SCHEMA)
    body = minimal_body(SCHEMA, body_schema, body_ids or ids, op.path) if body_schema else None
    return fill_path(op, ids), body


def client(world, host, user=None, token=None) -> ApiClient:
    return ApiClient(world.host(host), token=token or (world.token(user) if user else None))


def call(c: ApiClient, op: Operation, path: str, body, **extra):
    return request(c, op.method, path, body, **extra)


def assert_envelope(r, status: int, where: str, code: str | None = None) -> dict:
    assert r.status_code == status, (
        f"{where}: expected {status}, got {r.status_code}: {r.content[:500]!r}"
    )
    body = r.json()
    assert {"code", "detail"} <= set(body), f"{where}: not the error envelope: {body}"
    if code:
        assert body["code"] == code, f"{where}: {body}"
    return body


# --- the schema is the matrix ---------------------------------------------------------------


def test_served_schema_is_the_matrix(api, world):
    """The matrix is parametrized from the API object at collection time; the schema
    served on an organization host must list exactly the same operations."""
    served = api(world.a).get(f"{API_PREFIX}/openapi.json")
    assert served.status_code == 200
    assert sorted(op.id for op in operations(served.json())) == sorted(OP_IDS)
    assert len(OPS) >= 30  # org, members, invites, boards, lists, tasks, comments, audit, events


def test_every_operation_is_mapped():
    """Every path parameter, UUID query filter and body field of every operation can be filled."""
    fake = {
        k: f"00000000-0000-4000-8000-{i:012d}"
        for i, k in enumerate(("board", "list", "task", "comment", "invite", "user", "token"))
    }
    problems = []
    for op in OPS:
        try:
            build(op, fake)
            for p in op.query_params:
                if non_null(SCHEMA, p.get("schema", {})).get("format") == "uuid":
                    kind_of(p["name"], op.path)
            if op.method != "GET" and not op.success_codes:
                problems.append(f"{op.id}: no documented 2xx response")
        except AssertionError as exc:
            problems.append(f"{op.id}: {exc}")
    assert not problems, "\n".join(problems)


def test_only_accept_is_open_to_non_members():
    open_ops = {op.id for op in OPS if op.auth != "member"}
    assert open_ops == OPEN_TO_ANY_USER, (
        "an organization-host operation does not require membership"
    )
    assert all(op.security for op in OPS), "an organization-host operation has no auth at all"


# --- denied: no token, non-member, member of B ---------------------------------------------------


@pytest.mark.parametrize("op", OPS, ids=OP_IDS)
def test_denied_callers(op, world, pair):
    """No token: 401. Outsider and B's owner on A's host: 403 (accept: 404 for a bad
    token, and B's real invite token is unknown on A's host). Nothing changes; nothing of B leaks."""
    a_ids = ids_of(pair.a)
    path, body = build(op, a_ids)
    before = checksum(world)
    open_op = op.id in OPEN_TO_ANY_USER

    r = call(client(world, world.a), op, path, body)
    assert_envelope(r, 401, f"{op.id} without token")
    assert_no_leak(r, pair.b_markers, op.id)

    r = call(client(world, world.a, token=pair.b.api_token), op, path, body)  # accept: JWTs only, 401 too
    assert_envelope(r, 401, f"{op.id} with B's API token")
    assert_no_leak(r, pair.b_markers, op.id)

    for who, user in (
        ("outsider", world.outsider),
        ("B owner", world.b.owner),
        ("B member", world.b.member),
    ):
        r = call(client(world, world.a, user), op, path, body)
        where = f"{op.id} as {who}"
        if open_op:
            assert_envelope(r, 404, where)
        else:
            assert_envelope(r, 403, where, "not_a_member")
        assert_no_leak(r, pair.b_markers, where)

    if open_op:  # B's genuine invite token means nothing on A's host
        r = call(
            client(world, world.a, world.b.owner),
            op,
            path,
            {**(body or {}), "token": pair.b.invite_token},
        )
        assert_envelope(r, 404, f"{op.id} with B's invite token")
        assert_no_leak(r, pair.b_markers, op.id)

    if op.streams:  # EventSource passes the token in the query string
        token = world.token(world.b.owner)
        r = call(client(world, world.a), op, f"{path}?access_token={token}", None)
        assert_envelope(r, 403, f"{op.id} with B's token in ?access_token=", "not_a_member")
    assert not changed_tables(before, checksum(world)), f"{op.id}: a denied call changed data"


# --- B's ids on A's host -------------------------------------------------------------------------


def _foreign_variants(op: Operation, pair):
    """(label, path, body, expected status) with B's ids in one place at a time."""
    a_ids, b_ids = ids_of(pair.a), ids_of(pair.b)
    body_schema = op.body_schema(SCHEMA)
    if op.path_params:
        path, _ = build(op, b_ids)
        _, body = build(op, a_ids)
        yield "B ids in path", path, body, 404
    if body_schema:
        for name in uuid_fields(SCHEMA, body_schema):
            path, body = build(op, a_ids)
            kind = kind_of(name, op.path)
            body = {**(body or {}), name: str(b_ids[kind])}
            yield f"B {kind} in body.{name}", path, body, 422 if kind == "user" else 404
    if op.id in OPEN_TO_ANY_USER:
        path, body = build(op, a_ids)
        yield "B invite token", path, {**body, "token": pair.b.invite_token}, 404


# Operations taking an id in the path or the body (the others: query filters, below).
ID_OPS = [
    op
    for op in OPS
    if op.path_params
    or op.id in OPEN_TO_ANY_USER
    or (op.body_schema(SCHEMA) and uuid_fields(SCHEMA, op.body_schema(SCHEMA)))
]


@pytest.mark.parametrize("op", ID_OPS, ids=[op.id for op in ID_OPS])
def test_foreign_ids_are_404(op, world, pair):
    variants = list(_foreign_variants(op, pair))
    assert variants
    owner = client(world, world.a, world.a.owner)
    before = checksum(world)
    for label, path, body, status in variants:
        r = call(owner, op, path, body)
        assert_envelope(r, status, f"{op.id} ({label})")
        assert_no_leak(r, pair.b_markers, f"{op.id} ({label})")
    assert not changed_tables(before, checksum(world)), f"{op.id}: a not-found call changed data"


UUID_QUERY_OPS = [
    op
    for op in OPS
    if op.method == "GET"
    and any(non_null(SCHEMA, p.get("schema", {})).get("format") == "uuid" for p in op.query_params)
]


@pytest.mark.parametrize("op", UUID_QUERY_OPS, ids=[op.id for op in UUID_QUERY_OPS])
def test_foreign_ids_in_query_filters(op, world, pair):
    """Filtering A's lists by B's ids finds nothing (and says nothing about B)."""
    a_ids, b_ids = ids_of(pair.a), ids_of(pair.b)
    path, _ = build(op, a_ids)
    owner = client(world, world.a, world.a.owner)
    for p in op.query_params:
        if non_null(SCHEMA, p.get("schema", {})).get("format") != "uuid":
            continue
        kinds = {kind_of(p["name"], op.path)}
        if p["name"] == "target_id":  # any object an audit event may point at
            kinds = {"board", "list", "task", "comment", "invite"}
        for kind in sorted(kinds):
            r = owner.get(path, {p["name"]: str(b_ids[kind]), "limit": 200})
            assert r.status_code == 200, (op.id, p["name"], r.content)
            assert r.json()["items"] == [], f"{op.id}?{p['name']}=<B's {kind}> found rows"
            assert_no_leak(r, pair.b_markers, op.id)
        # sanity: the same filter with A's id does find rows, so the check above can fail
        found = [
            owner.get(path, {p["name"]: str(a_id), "limit": 200}).json()["items"]
            for kind in kinds
            for a_id in pair.a.ids[kind]
        ]
        assert any(found), (op.id, p["name"], "A's own ids find nothing either")


# --- allowed: A's owner with A's ids --------------------------------------------------------------


@pytest.mark.parametrize("op", OPS, ids=OP_IDS)
def test_owner_with_own_ids(op, world, pair):
    """The documented 2xx; the answer names nothing of B, and a GET names only A's ids."""
    path, body = build(op, ids_of(pair.a))
    r = call(client(world, world.a, world.a.owner), op, path, body)
    if op.id in OPEN_TO_ANY_USER:
        assert_envelope(r, 404, f"{op.id} with a made-up token", "invite_not_found")
    elif op.streams:
        # This client is the API (WSGI) server's: it answers a live endpoint
        # with 421 only once the caller is authorized and the object found (the
        # stream itself, through the public port: tests/core/test_public_port.py,
        # tests/live).
        assert_envelope(r, 421, op.id, "misdirected")
    else:
        assert r.status_code in op.success_codes, (op.id, r.status_code, r.content[:500])
    assert_no_leak(r, pair.b_markers, op.id)
    if op.method == "GET" and not op.streams:
        unknown = uuids_in(r) - pair.a_known_ids
        assert not unknown, f"{op.id}: ids that are not A's: {unknown}"


@pytest.mark.parametrize(
    "op",
    [op for op in OPS if op.method == "GET" and not op.streams],
    ids=[op.id for op in OPS if op.method == "GET" and not op.streams],
)
def test_member_and_admin_reads_never_show_b(op, world, pair):
    """Every role of A reads; whatever it is allowed to see is A's only."""
    path, _ = build(op, ids_of(pair.a))
    for user in (world.a.admin, world.a.member):
        r = call(client(world, world.a, user), op, path, None)
        assert r.status_code in {200, 403}, (op.id, r.status_code, r.content[:300])
        assert_no_leak(r, pair.b_markers, op.id)
        assert not uuids_in(r) - pair.a_known_ids, op.id


def test_lookalike_listings_are_exactly_as(api, world, pair):
    """Same names on both sides: A's listings hold exactly A's ids, B's exactly B's."""
    for side, seed, other in ((world.a, pair.a, pair.b), (world.b, pair.b, pair.a)):
        owner = api(side, side.owner)
        for path, kind in (("/boards", "board"), ("/tasks", "task"), ("/invites", "invite")):
            items = owner.get(path, {"limit": 200}).json()["items"]
            assert {i["id"] for i in items} == {str(x) for x in seed.ids[kind]}, (side.host, path)
        members = owner.get("/members", {"limit": 200}).json()["items"]
        assert {m["user"]["id"] for m in members} == {
            str(side.owner.id),
            str(side.admin.id),
            str(side.member.id),
        }
        audit = owner.get("/audit", {"limit": 200}).json()["items"]
        assert (
            audit and {e["target_id"] for e in audit} & {str(x) for x in other.ids["task"]} == set()
        )
        detail = owner.get(f"/boards/{seed.first('board')}").json()
        assert [lst["name"] for lst in detail["lists"]] == ["To do", "Doing", "Done"]
        assert [t["id"] for lst in detail["lists"] for t in lst["tasks"]] == [
            str(t) for t in seed.ids["task"][:6]
        ]


def test_leak_checks_can_fail(api, world, pair):
    """The scanners themselves: B's own answers are full of B's markers and ids."""
    r = api(world.b, world.b.owner).get("/tasks", {"limit": 200})
    with pytest.raises(AssertionError):
        assert_no_leak(r, pair.b_markers, "B on B")
    assert uuids_in(r) - pair.a_known_ids
