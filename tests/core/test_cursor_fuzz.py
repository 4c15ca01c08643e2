"""Forged cursors are a 422, never a 500 (issue 11, finding 7).

Before: a cursor whose value list held `null` (for example `[<real timestamp>,
null]`) reached `filter(id__gt=None)` and every list endpoint answered 500
(`ValueError: Cannot use None as a query value`): Django's `Field.clean`
skips validation of non-editable fields such as `id`.

1. The decoder itself, property-based (hypothesis): any string at all,
   base64 of any bytes, base64 of any JSON, real cursors with any JSON
   value swapped in: `cursor_values` either returns values of exactly the
   columns' types or raises InvalidInput; nothing else.
2. The same against PostgreSQL: the query built from any accepted cursor runs.
3. Every list endpoint, over HTTP with the whole middleware stack, with
   null-holding cursors: 422 `validation_error`; a real cursor still pages,
   and only through the caller's own organization.
"""

import base64
import json
from datetime import UTC, datetime
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from platform_core.errors import InvalidInput
from platform_core.pagination import MAX_CURSOR_CHARS, cursor_values, encode_cursor, paginate

pytestmark = pytest.mark.django_db


def _b64(obj) -> str:
    raw = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _querysets():
    """(name, queryset, ordering) of every paginated list in the code."""
    from provisioning.selectors import ORDERING as PLATFORM_ORDERING
    from provisioning.selectors import platform_orgs_queryset
    from shared_apps.orgs.models import Membership
    from tenant_apps.audit.models import AuditEvent
    from tenant_apps.boards.models import Board, Comment
    from tenant_apps.boards.selectors import TASK_ORDERINGS
    from tenant_apps.invites.models import Invite

    out = [
        ("boards", Board.objects.all(), ("created_at", "id")),
        ("comments", Comment.objects.all(), ("created_at", "id")),
        ("invites", Invite.objects.all(), ("-created_at", "-id")),
        ("audit", AuditEvent.objects.all(), ("-at", "-id")),
        ("members", Membership.objects.all(), ("joined_at", "id")),
        ("platform_orgs", platform_orgs_queryset(), PLATFORM_ORDERING),
    ]
    out += [
        (f"tasks:{name}", _tasks_queryset(name), ordering)
        for name, ordering in TASK_ORDERINGS.items()
    ]
    return out


def _tasks_queryset(ordering: str):
    """tasks_page's queryset for `ordering`, with the annotation its keys need."""
    from django.db.models import Case, F, IntegerField, Value, When
    from django.db.models.functions import Coalesce

    from tenant_apps.boards.models import PRIORITY_RANK
    from tenant_apps.boards.selectors import FAR_FUTURE, tasks_with_position

    qs = tasks_with_position()
    if ordering == "position":
        return qs.annotate(list_rank=F("list__rank"))
    if ordering == "due_at":
        return qs.annotate(due_key=Coalesce("due_at", Value(FAR_FUTURE)))
    if ordering == "priority":
        whens = [When(priority=value, then=Value(rank)) for value, rank in PRIORITY_RANK.items()]
        return qs.annotate(priority_rank=Case(*whens, output_field=IntegerField()))
    return qs


def _expected_type(queryset, key):
    field = queryset.query.resolve_ref(key.lstrip("-")).output_field
    if field.is_relation:
        field = field.target_field
    return {
        "UUIDField": UUID,
        "DateTimeField": datetime,
    }.get(
        field.get_internal_type(),
        int
        if "Integer" in field.get_internal_type() or "Auto" in field.get_internal_type()
        else str,
    )


def _assert_decodes_or_422(queryset, ordering, cursor):
    try:
        values = cursor_values(queryset, ordering, cursor)
    except InvalidInput as exc:
        assert exc.status == 422 and exc.code == "validation_error"
        assert exc.extra["errors"][0]["loc"] == ["query", "cursor"]
        return None
    assert len(values) == len(ordering)
    for key, value in zip(ordering, values, strict=True):
        assert value is not None
        assert isinstance(value, _expected_type(queryset, key)), (key, value)
        if isinstance(value, datetime):
            assert value.tzinfo is not None
        if isinstance(value, int):
            assert not isinstance(value, bool) and -(2**63) <= value < 2**63
    return values


# --- JSON values, as a forger would write them ----------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(
        ["", "\x00", "\ud800", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"]
    ),
)
tagged = st.dictionaries(
    st.sampled_from(["t", "u", "d", "x"]),
    st.one_of(
        scalars,
        st.datetimes(timezones=st.none() | st.timezones()).map(lambda d: d.isoformat()),
        st.uuids().map(str),
        st.sampled_from(
            ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "zzz", "2026-01-01"]
        ),
    ),
    max_size=2,
)
json_values = st.recursive(
    scalars | tagged,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=8,
)
right_typed = st.one_of(
    st.datetimes(timezones=st.just(UTC)).map(lambda d: {"t": d.isoformat()}),
    st.uuids().map(lambda u: {"u": str(u)}),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
)


@pytest.fixture(scope="module")
def lists():
    return _querysets()


FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(data=st.data())
def test_any_string_decodes_or_is_422(lists, data):
    _, queryset, ordering = data.draw(st.sampled_from(lists))
    cursor = data.draw(
        st.one_of(
            st.text(max_size=80),
            st.text(
                alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/",
                max_size=200,
            ),
            st.binary(max_size=200).map(_b64),
            st.just("a" * (MAX_CURSOR_CHARS + 1)),
            st.just(_b64(b"\xff\xfe\x00{")),
        )
    )
    _assert_decodes_or_422(queryset, ordering, cursor)


@FUZZ
@given(data=st.data())
def test_any_json_decodes_or_is_422(lists, data):
    _, queryset, ordering = data.draw(st.sampled_from(lists))
    obj = data.draw(
        st.one_of(
            json_values,
            st.fixed_dictionaries(
                {
                    "o": st.just(",".join(ordering)),
                    "v": st.lists(json_values, max_size=len(ordering) + 1),
                }
            ),
            st.fixed_dictionaries(
                {"o": st.just(",".join(ordering)) | st.text(max_size=10), "v": json_values},
                optional={"x": json_values},
            ),
        )
    )
    _assert_decodes_or_422(queryset, ordering, _b64(obj))


@FUZZ
@given(data=st.data())
def test_a_real_cursor_with_any_value_swapped_decodes_or_is_422(lists, data):
    _, queryset, ordering = data.draw(st.sampled_from(lists))
    values = [data.draw(right_typed) for _ in ordering]
    i = data.draw(st.integers(min_value=0, max_value=len(ordering) - 1))
    values[i] = data.draw(json_values | right_typed)
    _assert_decodes_or_422(queryset, ordering, _b64({"o": ",".join(ordering), "v": values}))


def test_real_cursors_round_trip(lists):
    when = datetime(2026, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)
    for _, queryset, ordering in lists:
        values = []
        for key in ordering:
            kind = _expected_type(queryset, key)
            values.append(
                when
                if kind is datetime
                else UUID(int=7)
                if kind is UUID
                else 3
                if kind is int
                else "x"
            )
        assert cursor_values(queryset, ordering, encode_cursor(values, ordering)) == values


def test_null_in_any_position_is_422(lists):
    """The finding, on the decoder: [<good>, null] used to pass Field.clean (id is not editable)."""
    when = datetime(2026, 5, 1, tzinfo=UTC)
    for _name, queryset, ordering in lists:
        good = [
            {"t": when.isoformat()}
            if _expected_type(queryset, k) is datetime
            else {"u": str(UUID(int=1))}
            if _expected_type(queryset, k) is UUID
            else 1
            for k in ordering
        ]
        for i in range(len(ordering)):
            forged = list(good)
            forged[i] = None
            with pytest.raises(InvalidInput):
                cursor_values(queryset, ordering, _b64({"o": ",".join(ordering), "v": forged}))


# --- the same against PostgreSQL -----------------------------------------------------------


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_accepted_cursors_run_in_postgresql(world, data):
    """Whatever the decoder accepts, PostgreSQL accepts too (no DataError, no overflow)."""
    from django_tenants.utils import schema_context

    lists = _querysets()
    name, queryset, ordering = data.draw(st.sampled_from(lists))
    values = [data.draw(right_typed | json_values) for _ in ordering]
    cursor = _b64({"o": ",".join(ordering), "v": values})
    schema = "public" if name in ("members", "platform_orgs") else world.a.org.schema_name
    with schema_context(schema):
        try:
            page = paginate(queryset, ordering=ordering, limit=2, cursor=cursor)
        except InvalidInput:
            return
        assert len(page.items) <= 2


# --- every list endpoint, over HTTP -------------------------------------------------------


def _seed(client) -> dict:
    """Two of everything listable, through the API (which also writes audit events)."""
    boards = [client.post("/boards", {"name": f"Board {i}"}).json()["id"] for i in range(2)]
    lst = client.post(f"/boards/{boards[0]}/lists", {"name": "To do"}).json()["id"]
    tasks = [
        client.post(
            "/tasks",
            {"list_id": lst, "title": f"Task {i}", "due_at": f"2030-01-0{i + 1}T00:00:00Z"},
        ).json()["id"]
        for i in range(2)
    ]
    for i in range(2):
        assert (
            client.post(f"/tasks/{tasks[0]}/comments", {"body": f"Comment {i}"}).status_code == 201
        )
        assert (
            client.post(
                "/invites", {"email": f"invitee{i}@example.test", "role": "member"}
            ).status_code
            == 201
        )
    return {"boards": boards, "tasks": tasks}


def _list_paths(seeded) -> list[tuple[str, dict]]:
    paths = [
        ("/boards", {}),
        (f"/tasks/{seeded['tasks'][0]}/comments", {}),
        ("/members", {}),
        ("/invites", {}),
        ("/audit", {}),
    ]
    paths += [
        ("/tasks", {"ordering": o}) for o in ("position", "due_at", "-created_at", "priority")
    ]
    return paths


def _forged_nulls(cursor: str) -> list[str]:
    data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    n = len(data["v"])
    out = [_b64({**data, "v": [None] * n})]
    for i in range(n):
        values = list(data["v"])
        values[i] = None
        out.append(_b64({**data, "v": values}))
    out.append(_b64({**data, "v": [*data["v"][:-1], [None]]}))  # a nested list
    return out


def _check_endpoint(client, path, params):
    r = client.get(path, {**params, "limit": 1})
    assert r.status_code == 200, (path, r.content)
    cursor = r.json()["next_cursor"]
    assert cursor, f"{path}: needs two items for a real cursor"
    for forged in _forged_nulls(cursor):
        r = client.get(path, {**params, "limit": 1, "cursor": forged})
        assert r.status_code == 422, (
            path,
            params,
            base64.urlsafe_b64decode(forged + "==="),
            r.content[:300],
        )
        body = r.json()
        assert body["code"] == "validation_error" and body["errors"][0]["loc"] == [
            "query",
            "cursor",
        ]
    # the real cursor still pages
    r = client.get(path, {**params, "limit": 1, "cursor": cursor})
    assert r.status_code == 200, r.content
    return r.json()["items"]


def test_every_list_endpoint_answers_422_to_null_cursors(api, world):
    a, b = api(world.a, world.a.owner), api(world.b, world.b.owner)
    seeded_a, seeded_b = _seed(a), _seed(b)
    for path, params in _list_paths(seeded_a):
        _check_endpoint(a, path, params)
    # Organization B's host: the same, and paging with real cursors never shows A's rows.
    for path, params in _list_paths(seeded_b):
        _check_endpoint(b, path, params)
    seen, cursor = [], None
    while True:
        r = b.get("/boards", {"limit": 1, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200
        seen += [item["id"] for item in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    assert set(seen) == set(seeded_b["boards"]) and not set(seen) & set(seeded_a["boards"])
    # A cursor made on A's host, forged or real, used on B's host: never a 500, never A's rows.
    r = a.get("/boards", {"limit": 1})
    for forged in [r.json()["next_cursor"], *_forged_nulls(r.json()["next_cursor"])]:
        rb = b.get("/boards", {"limit": 5, "cursor": forged})
        assert rb.status_code in (200, 422)
        if rb.status_code == 200:
            assert not {i["id"] for i in rb.json()["items"]} & set(seeded_a["boards"])


def test_platform_org_list_answers_422_to_null_cursors(api, world):
    _check_endpoint(api("root", world.operator), "/platform/orgs", {})
