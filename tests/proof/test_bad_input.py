"""Bad input everywhere, generated over the OpenAPI operations of both APIs.

Per operation and family of bad input (malformed JSON, wrong types, lengths,
NUL bytes, unknown enum values, numbers out of range, oversized and deeply
nested bodies, invalid path ids, bad query parameters, bogus cursors), every
answer must be a 4xx with the envelope (`code`, `detail`; 422 also `errors`),
never a 500, and a failing mutation must leave both organizations' schemas
and the public tables exactly as they were (a checksum of every row of every
table a request could write, read in one query).

Callers: A's owner on A's host (organization API); on the root host the
operator for /platform, the outsider elsewhere. Failures of one family are
collected over all its variants, so one run reports every bad variant.
"""

import base64
import json
import re

import pytest

from tests.proof.conftest import (
    API_PREFIX,
    Operation,
    changed_tables,
    checksum,
    deref,
    fill_path,
    in_process_schema,
    is_nullable,
    minimal_body,
    non_null,
    operations,
)
from tests.support import ApiClient

pytestmark = pytest.mark.django_db

SCHEMAS = {"org": in_process_schema("tenant"), "root": in_process_schema("public")}
CASES = [(api, op) for api, schema in SCHEMAS.items() for op in operations(schema)]


def _id(api: str, op: Operation) -> str:
    return f"{api}:{op.id}"


# --- calling -----------------------------------------------------------------------------------


def caller(world, api: str, op: Operation) -> ApiClient:
    if api == "org":
        return ApiClient(world.a.host, token=world.token(world.a.owner))
    if op.auth == "operator":
        return ApiClient(world.root, token=world.token(world.operator))
    if op.security:
        return ApiClient(world.root, token=world.token(world.outsider))
    return ApiClient(world.root)


def ids_for(api: str, pair) -> dict:
    return {kind: values[0] for kind, values in pair.a.ids.items()}


def path_of(api: str, op: Operation, pair) -> str:
    path = fill_path(op, ids_for(api, pair)) if api == "org" else op.path
    return path.replace("{slug}", "acme")


def base_body(api: str, op: Operation, pair) -> dict | None:
    node = op.body_schema(SCHEMAS[api])
    return minimal_body(SCHEMAS[api], node, ids_for(api, pair), op.path) if node else None


def body_props(api: str, op: Operation) -> dict:
    node = op.body_schema(SCHEMAS[api])
    if not node:
        return {}
    return {
        name: non_null(SCHEMAS[api], p)
        for name, p in deref(SCHEMAS[api], node).get("properties", {}).items()
    }


# --- checking ----------------------------------------------------------------------------------


def check(r, expected: set[int], label: str) -> str | None:
    """None if fine, else a description of what was wrong. Errors must carry the envelope."""
    if r.status_code >= 500 or r.status_code not in expected:
        return f"{label}: {r.status_code} (expected {sorted(expected)}) {r.content[:200]!r}"
    if r.status_code < 400:
        return None
    try:
        body = r.json()
    except ValueError:
        return f"{label}: not JSON {r.content[:200]!r}"
    if not isinstance(body.get("code"), str) or not isinstance(body.get("detail"), str):
        return f"{label}: not the envelope {str(body)[:200]}"
    if r.status_code == 422:
        errors = body.get("errors")
        if not errors or not all(
            isinstance(e.get("loc"), list) and isinstance(e.get("msg"), str) for e in errors
        ):
            return f"{label}: 422 without errors {str(body)[:200]}"
    return None


class Attempts:
    """Send bad requests; collect every wrong answer and every partial write."""

    def __init__(self, world, api: str, op: Operation, pair):
        self.world, self.api, self.op, self.pair = world, api, op, pair
        self.client = caller(world, api, op)
        self.problems: list[str] = []
        self.count = 0
        self._last: tuple | None = None

    def send(
        self,
        label: str,
        *,
        path: str | None = None,
        raw: str | bytes | None = None,
        body=None,
        query: str = "",
        expected=frozenset({422}),
        content_type="application/json",
        **extra,
    ):
        path = path or path_of(self.api, self.op, self.pair)
        data = raw if raw is not None else ("" if body is None else json.dumps(body))
        before = None
        if self.op.method != "GET":
            before = self._last or checksum(self.world)  # the previous failure's "after"
        r = self.client.client.generic(
            self.op.method,
            path + query,
            data,
            content_type=content_type,
            **self.client._headers(extra),
        )
        self.count += 1
        problem = check(r, set(expected), f"{self.op.id} {label}")
        if problem:
            self.problems.append(problem)
        self._last = None
        if before is not None and r.status_code >= 400:
            after = checksum(self.world)
            if after != before:
                self.problems.append(
                    f"{self.op.id} {label}: partial write in {changed_tables(before, after)}"
                )
            self._last = after
        return r

    def assert_clean(self):
        assert self.count, "no variant was generated"
        assert not self.problems, (
            f"{len(self.problems)} of {self.count} bad answers:\n" + "\n".join(self.problems)
        )


# --- families of bad input ---------------------------------------------------------------------


def fam_malformed_json(a: Attempts, props):
    """Not JSON at all: 400 invalid_json (or 422)."""
    name = next(iter(props), "name")
    for label, raw in [
        ("not json", "{not json"),
        ("truncated", f'{{"{name}": "x'),
        ("trailing garbage", "{} x"),
        ("single quotes", f"{{'{name}': 'x'}}"),
        ("invalid utf-8", f'{{"{name}": "'.encode() + b'\xff\xfe"}'),
        ("raw control char", f'{{"{name}": "a\x01b"}}'),
        ("empty", ""),
        ("BOM only", "\ufeff"),
    ]:
        a.send(label, raw=raw, expected={400, 422})
    a.send(
        "form encoded",
        raw=f"{name}=x",
        content_type="application/x-www-form-urlencoded",
        expected={400, 415, 422},
    )
    # NaN/Infinity are not JSON (Python's parser takes them): refused by the field or the parser
    if props:
        a.send(f"NaN in body.{name}", raw=f'{{"{name}": NaN}}', expected={400, 422})
        a.send(f"Infinity in body.{name}", raw=f'{{"{name}": -Infinity}}', expected={400, 422})


def fam_non_object_json(a: Attempts, props):
    """Well-formed JSON that is not an object: 422 (or 400), and nothing changes."""
    for label, raw in [
        ("true", "true"),
        ("null", "null"),
        ("list", "[]"),
        ("list of object", "[{}]"),
        ("string", '"hello world"'),
        ("number", "123"),
    ]:
        a.send(label, raw=raw, expected={400, 422})


def fam_wrong_types(a: Attempts, props):
    base = base_body(a.api, a.op, a.pair) or {}
    raw_props = _raw_props(a)
    for name, prop in props.items():
        wrong = [{"x": 1}, [1, 2]]
        if (
            prop.get("type") != "string"
            or prop.get("format")
            or "enum" in prop
            or _is_choice(prop)
        ):
            wrong.append("not-a-valid-value")
        if (
            prop.get("type") == "string" and prop.get("format") != "date-time"
        ):  # pydantic reads ints as epochs
            wrong.append(12345)
        if not is_nullable(SCHEMAS[a.api], raw_props[name]):
            wrong.append(None)
        for value in wrong:
            r = a.send(f"body.{name}={value!r}", body={**base, name: value})
            if r.status_code == 422 and not any(
                e["loc"] and e["loc"][-1] == name or name in e["loc"]
                for e in r.json().get("errors", [])
            ):
                a.problems.append(
                    f"{a.op.id} body.{name}={value!r}: 422 names another field {r.json()}"
                )
    for name in _required(a):
        a.send(f"missing {name}", body={k: v for k, v in base.items() if k != name})


def _raw_props(a: Attempts) -> dict:
    node = a.op.body_schema(SCHEMAS[a.api])
    return deref(SCHEMAS[a.api], node).get("properties", {}) if node else {}


def _required(a: Attempts) -> list[str]:
    node = a.op.body_schema(SCHEMAS[a.api])
    return deref(SCHEMAS[a.api], node).get("required", []) if node else []


def fam_lengths(a: Attempts, props):
    base = base_body(a.api, a.op, a.pair) or {}
    ok = {200, 201, 204, 400, 401, 403, 404, 409, 410, 422}
    for name, prop in props.items():
        if not _free_text(prop):
            continue
        if "maxLength" in prop:
            limit = prop["maxLength"]
            a.send(f"body.{name} of {limit + 1}", body={**base, name: "x" * (limit + 1)})
            a.send(
                f"body.{name} of {limit + 1} (multibyte)",
                body={**base, name: "\u00e9" * (limit + 1)},
            )
            # exactly at the limit: accepted or refused by a business rule, but never a 500
            a.send(f"body.{name} of exactly {limit}", body={**base, name: "y" * limit}, expected=ok)
        else:
            a.send(f"body.{name} of 200k", body={**base, name: "z" * 200_000}, expected=ok)
        a.send(f"body.{name} of emoji", body={**base, name: "\U0001f600" * 3}, expected=ok)


def fam_nul(a: Attempts, props):
    base = base_body(a.api, a.op, a.pair) or {}
    for name, prop in props.items():
        if prop.get("type") == "string":
            a.send(f"body.{name} with NUL", body={**base, name: "a\x00b"})
            a.send(f"body.{name} NUL only", body={**base, name: "\x00"})
    a.send(
        "NUL in an unknown key",
        body={**base, "x\x00y": "v"},
        expected={200, 201, 204, 400, 401, 403, 404, 409, 422},
    )


def _is_choice(prop: dict) -> bool:
    """A pattern that is a list of choices (`^(owner|admin|member)$`), not a free-form rule like a slug's."""
    return bool(re.fullmatch(r"\^\(([\w-]+\|)+[\w-]+\)\$", prop.get("pattern", "")))


def fam_enums(a: Attempts, props):
    base = base_body(a.api, a.op, a.pair) or {}
    for name, prop in props.items():
        if "enum" in prop or _is_choice(prop):
            for value in (
                "bogus",
                "",
                " ",
                "OWNER",
                "owner ",
                "owner\n",
                "member|owner",
                "superuser",
            ):
                if "enum" in prop and value in prop["enum"]:
                    continue
                a.send(f"body.{name}={value!r}", body={**base, name: value})


def fam_numbers(a: Attempts, props):
    base = base_body(a.api, a.op, a.pair) or {}
    ok = {200, 201, 204, 404, 409, 422}
    for name, prop in props.items():
        if prop.get("type") not in ("integer", "number"):
            continue
        for value in (
            prop.get("maximum", 2**31) + 1,
            prop.get("minimum", -(2**31)) - 1,
            10**30,
            -(10**30),
        ):
            a.send(f"body.{name}={value}", body={**base, name: value})
        a.send(
            f"body.{name}=1e400",
            raw=json.dumps(base)[:-1] + (", " if base else "") + f'"{name}": 1e400}}',
        )
        for value in (
            1.5,
            "1e3",
            "",
            True,
            prop.get("maximum", 2**31),
            prop.get("minimum", -(2**31)),
            -1,
            0,
        ):
            a.send(f"body.{name}={value!r}", body={**base, name: value}, expected=ok)


def fam_size(a: Attempts, props):
    base = base_body(a.api, a.op, a.pair) or {}
    name = next(iter(props), "pad")
    two_mb = json.dumps({**base, name: "x" * (2 * 1024 * 1024)})
    a.send("2 MB body", raw=two_mb, expected={413})
    a.send(
        "Content-Length over the limit",
        raw=json.dumps(base),
        expected={413},
        CONTENT_LENGTH=str(2 * 1024 * 1024),
    )
    a.send(
        "Content-Length not a number", raw=json.dumps(base), expected={400}, CONTENT_LENGTH="abc"
    )
    no_body = set() if a.op.body_schema(SCHEMAS[a.api]) else a.op.success_codes  # nothing to read
    a.send(
        "Content-Length negative",
        raw=json.dumps(base),
        expected={400, 411, 413, 422} | no_body,
        CONTENT_LENGTH="-1",
    )


def fam_nesting(a: Attempts, props):
    if not a.op.body_schema(SCHEMAS[a.api]):
        return
    name = next(iter(props), "x")
    depth = 100_000
    a.send(
        "nested arrays",
        raw=f'{{"{name}": ' + "[" * depth + "]" * depth + "}",
        expected={400, 413, 422},
    )
    a.send("nested objects", raw=('{"a":' * depth) + "1" + ("}" * depth), expected={400, 413, 422})
    a.send("nested, unclosed", raw=f'{{"{name}": ' + "[" * depth, expected={400, 413, 422})
    a.send("moderate nesting", raw=json.dumps({name: [[[[[[[[["x"]]]]]]]]]}), expected={422})


BAD_IDS = [
    "not-a-uuid",
    "-1",
    "00000000-0000-0000-0000-00000000000g",
    "%2e%2e",
    "' OR 1=1 --",
    "{id}",
    "x" * 5000,
    "%ff%fe",
    "00000000-0000-0000-0000-000000000000",
]


def _send_bad_path_values(a: Attempts, values) -> None:
    """Each path parameter in turn replaced by each bad value (the others valid): 404 or 422."""
    base = base_body(a.api, a.op, a.pair)
    for name in a.op.path_params:
        for bad in values:
            path = a.op.path.replace("{" + name + "}", bad)
            path = (
                fill_path(Operation(a.op.method, path, a.op.op), ids_for(a.api, a.pair))
                if a.api == "org"
                else path
            )
            a.send(
                f"{name}={bad[:40]!r}",
                path=path.replace("{slug}", "acme"),
                body=base,
                expected={404, 422},
            )


def fam_path_ids(a: Attempts, props):
    _send_bad_path_values(a, BAD_IDS)


def fam_path_nul(a: Attempts, props):
    _send_bad_path_values(a, ("%00", "a%00b"))


def _query_values(prop: dict) -> list:
    fmt, kind = prop.get("format"), prop.get("type")
    values = ["a\x00b", "\x00"]
    if fmt == "uuid":
        values += ["nope", "1", "' OR 1=1 --", "00000000-0000-0000-0000-00000000000g"]
    elif fmt == "date-time":
        values += [
            "yesterday",
            "0000-00-00",
            "9999-99-99T99:99:99",
            "2024-13-01T00:00:00Z",
            "1" * 400,
        ]
    elif kind == "integer":
        values += [
            "-1",
            "0",
            "abc",
            "1.5",
            "1e3",
            "",
            str(10**30),
            str(prop.get("maximum", 2**31) + 1),
        ]
    elif "enum" in prop:
        values += ["bogus", "", prop["enum"][0].upper(), prop["enum"][0] + " "]
    elif kind == "string" and "maxLength" in prop:
        values += ["x" * (prop["maxLength"] + 1)]
    return values


def fam_query(a: Attempts, props):
    schema = SCHEMAS[a.api]
    for param in a.op.query_params:
        prop = non_null(schema, param.get("schema", {}))
        for value in _query_values(prop):
            if param["name"] == "cursor":
                continue  # fam_cursor
            a.send(f"?{param['name']}={value[:40]!r}", query="?" + _qs({param["name"]: value}))
        if prop.get("format") == "date-time":  # the edges of the calendar: an answer, never a 500
            for value in (
                "0001-01-01T00:00:00+14:00",
                "9999-12-31T23:59:59-14:00",
                "0001-01-01T00:00:00",
            ):
                a.send(
                    f"?{param['name']}={value}",
                    query="?" + _qs({param["name"]: value}),
                    expected={200, 422},
                )
        # repeated parameter: must not crash
        a.send(
            f"?{param['name']} twice",
            query=f"?{param['name']}=a&{param['name']}=b",
            expected={200, 422},
        )
    a.send(
        "unknown params are ignored",
        query="?schema=public&tenant=globex&__proto__=x",
        expected={200},
    )
    a.send("limit=200 is fine", query="?limit=200", expected={200})


def _qs(params: dict) -> str:
    from urllib.parse import urlencode

    return urlencode(params)


def _b64(data) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _real_cursor(a: Attempts, query: str = "") -> tuple[str, dict] | None:
    r = a.client.get(path_of(a.api, a.op, a.pair) + "?limit=1" + query)
    assert r.status_code == 200, r.content
    cursor = r.json().get("next_cursor")
    if not cursor:
        return None
    return cursor, json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))


def fam_cursor(a: Attempts, props):
    for label, cursor in [
        ("random base64", base64.urlsafe_b64encode(bytes(range(40))).decode()),
        ("not base64", "!!!not-base64!!!"),
        ("empty-ish", "="),
        ("unicode", "\u00e9\u00e9"),
        ("NUL", "\x00"),
        ("over 1024", "a" * 1025),
        ("base64 of a list", _b64([])),
        ("base64 of null", _b64(None)),
        ("base64 of a string", _b64("x")),
        ("base64 of {}", _b64({})),
        ("base64 of {o} only", _b64({"o": "created_at,id"})),
        ("base64 of non-json", _b64(b"\xff\xfe\x00")),
    ]:
        a.send(f"cursor {label}", query="?" + _qs({"cursor": cursor}))
    real = _real_cursor(a)
    assert real, f"{a.op.id}: the seed must hold two items so that a real cursor exists"
    _, data = real
    a.send(
        "cursor for another ordering",
        query="?" + _qs({"cursor": _b64({**data, "o": data["o"] + ",x"})}),
    )
    if any(p["name"] == "ordering" for p in a.op.query_params):
        other = _real_cursor(a, "&ordering=-created_at")
        a.send(
            "cursor from ordering=-created_at used with the default ordering",
            query="?" + _qs({"cursor": other[0]}),
        )
    a.send("the real cursor works", query="?" + _qs({"cursor": real[0]}), expected={200})


def fam_forged_cursor(a: Attempts, props):
    """A cursor of the right shape for this ordering whose values have the wrong types."""
    real = _real_cursor(a)
    assert real, f"{a.op.id}: the seed must hold two items so that a real cursor exists"
    _, data = real
    n = len(data["v"])
    for label, values in [
        ("wrong value count", data["v"] + [1]),
        ("strings", ["garbage"] * n),
        ("ints", [5] * n),
        ("floats", [1e308] * n),
        ("bools", [True] * n),
        ("nulls", [None] * n),
        ("lists", [[1]] * n),
        ("bad uuid", [{"u": "zzz"}] * n),
        ("uuid of int", [{"u": 5}] * n),
        ("bad datetime", [{"t": "zzz"}] * n),
        ("datetime of int", [{"t": 5}] * n),
        ("bad decimal", [{"d": "abc"}] * n),
        ("unknown tag", [{"q": 1}] * n),
        ("huge int", [10**30] * n),
        ("long string", ["x" * 5000] * n),
    ]:
        # a forged cursor of the right shape may page from anywhere (same tenant), never 500
        a.send(
            f"forged cursor: {label}",
            query="?" + _qs({"cursor": _b64({**data, "v": values})}),
            expected={200, 422},
        )


def _free_text(prop: dict) -> bool:
    return prop.get("type") == "string" and not prop.get("format") and "enum" not in prop


def _has_body(api, op) -> bool:
    return op.body_schema(SCHEMAS[api]) is not None


def _strings(api, op) -> bool:
    return any(p.get("type") == "string" for p in body_props(api, op).values())


def _paginated(api, op) -> bool:
    return any(p["name"] == "cursor" for p in op.query_params)


def _path_ids(api, op) -> bool:
    return bool(op.path_params) and not op.streams


# family -> (generators, applies to (api, operation))
FAMILIES = {
    "malformed_json": ([fam_malformed_json], _has_body),
    "non_object_json": ([fam_non_object_json], _has_body),
    "types": ([fam_wrong_types, fam_numbers], lambda api, op: bool(body_props(api, op))),
    "strings": ([fam_lengths, fam_nul, fam_enums], _strings),
    "body_limits": ([fam_size, fam_nesting], lambda api, op: op.method != "GET"),
    "path_ids": ([fam_path_ids], _path_ids),
    "path_nul": ([fam_path_nul], _path_ids),
    "query": ([fam_query], lambda api, op: op.method == "GET" and bool(op.query_params)),
    "cursor": ([fam_cursor], _paginated),
    "forged_cursor": ([fam_forged_cursor], _paginated),
}

# Known bugs: (api:operation, family) -> reason. Kept strict, so a fix shows up as XPASS.
# Fixed so far: forged cursors (500 -> 422), non-object JSON bodies (200 -> 422),
# NUL in operator slugs (500 -> 404).
KNOWN_BUGS: dict[tuple[str, str], str] = {}

PARAMS = [
    pytest.param(
        api,
        op,
        family,
        id=f"{_id(api, op)}-{family}",
        marks=[pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[(_id(api, op), family)])]
        if (_id(api, op), family) in KNOWN_BUGS
        else [],
    )
    for api, op in CASES
    for family, (_, applies) in FAMILIES.items()
    if applies(api, op)
]


@pytest.mark.parametrize("api,op,family", PARAMS)
def test_bad_input(api, op, family, world, pair):
    attempts = Attempts(world, api, op, pair)
    for generate in FAMILIES[family][0]:
        generate(attempts, body_props(api, op))
    attempts.assert_clean()


def test_every_family_reaches_every_kind_of_operation():
    """The generator is not vacuous: each family applies to some operations, and every
    operation with a body, a path id or query parameters gets bad input of that kind."""
    used = {p.values[2] for p in PARAMS}
    assert used == set(FAMILIES)
    covered = {(p.values[0], p.values[1].id) for p in PARAMS}
    for api, op in CASES:
        if op.streams:
            continue  # test_stream_with_bad_board_id
        if op.body_schema(SCHEMAS[api]) or op.path_params or op.query_params or op.method != "GET":
            assert (api, op.id) in covered, op.id


def test_stream_with_bad_board_id(world, pair):
    """The event stream (not in the path_ids family: a valid id would stream forever)."""
    client = ApiClient(world.a.host, token=world.token(world.a.owner))
    for bad in BAD_IDS:
        r = client.get(f"{API_PREFIX}/boards/{bad}/events")
        assert r.status_code in (404, 422), (bad, r.status_code)
        assert r.json()["code"]
    r = client.get(f"{API_PREFIX}/boards/{pair.b.first('board')}/events")
    assert r.status_code == 404
