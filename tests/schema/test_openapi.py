"""The served OpenAPI documents are exact (API.md "Strict input and an exact schema").

Both hosts' schemas (and the organization schema served from the root host)
are parsed with a JSON loader that rejects duplicate keys (Python's `json`
silently keeps the last one: the duplicated `413` of issue 15 went unnoticed
that way) and validated with openapi-spec-validator. The organization host
of `schema-b` serves the same document as `schema-a`'s: the schema is no
tenant data, but nothing of one organization appears in it.
"""

import json
import re
import urllib.request

import pytest
from openapi_spec_validator import validate

pytestmark = pytest.mark.slow


class DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict:
    keys = [key for key, _ in pairs]
    dupes = sorted({key for key in keys if keys.count(key) > 1})
    if dupes:
        raise DuplicateKey(f"duplicated keys {dupes}")
    return dict(pairs)


def fetch(stack, host: str, path: str) -> tuple[str, dict]:
    req = urllib.request.Request(stack.url + path, headers={"Host": host})
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("application/json")
        raw = resp.read().decode()
    return raw, json.loads(raw, object_pairs_hook=_no_duplicates)


def test_the_loader_rejects_duplicate_keys():
    with pytest.raises(DuplicateKey):
        json.loads('{"responses": {"413": {}, "413": {}}}', object_pairs_hook=_no_duplicates)


@pytest.fixture(scope="module")
def schemas(stack):
    a, b = (org["host"] for org in stack.orgs)
    return {
        "root": fetch(stack, "localhost", "/api/v1/openapi.json"),
        "org": fetch(stack, a, "/api/v1/openapi.json"),
        "org_b": fetch(stack, b, "/api/v1/openapi.json"),
        "org_from_root": fetch(stack, "localhost", "/api/v1/org-openapi.json"),
    }


def operations(schema: dict):
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            yield f"{method.upper()} {path}", op


@pytest.mark.parametrize("name", ["root", "org", "org_from_root"])
def test_valid_openapi_without_duplicate_keys(schemas, name):
    raw, schema = schemas[name]
    assert schema["openapi"].startswith("3.1")
    validate(schema)
    assert '"413"' in raw  # the key that used to be duplicated is there, once per operation


def test_every_organization_host_serves_the_same_document(schemas, stack):
    assert schemas["org"][1] == schemas["org_b"][1]
    raw = schemas["org"][0]
    for org in stack.orgs:  # no organization's own data in it
        assert org["slug"] not in raw and org["id"] not in raw


@pytest.mark.parametrize("name", ["root", "org"])
def test_operation_ids_tags_errors_and_security(schemas, name):
    schema = schemas[name][1]
    ids = [op["operationId"] for _, op in operations(schema)]
    assert len(ids) == len(set(ids))
    for key, op in operations(schema):
        assert re.fullmatch(r"[a-z]+[A-Za-z]*", op["operationId"]), key
        assert len(op["tags"]) == 1, key
        for status, response in op["responses"].items():
            assert isinstance(status, str)
            if int(status) >= 400:
                assert response["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/Error"
                }, (key, status)
        for status in ("500", "503"):
            assert status in op["responses"], (key, status)
        assert "Retry-After" in op["responses"]["503"]["headers"]
        if "requestBody" in op:
            assert {"400", "413", "422"} <= set(op["responses"]), key
        if op.get("security"):
            assert op["security"] == [{"bearerAuth": []}]
    assert list(schema["components"]["securitySchemes"]) == ["bearerAuth"]
    names = {schema["components"]["schemas"][n].get("title", n) for n in schema["components"]["schemas"]}
    assert "ErrorOut" not in names and "ValidationErrorOut" not in names


def test_short_operation_ids_and_resource_tags(schemas):
    org = {op["operationId"]: op["tags"][0] for _, op in operations(schemas["org"][1])}
    root = {op["operationId"]: op["tags"][0] for _, op in operations(schemas["root"][1])}
    assert org["createTask"] == org["listTasks"] == org["moveTask"] == "tasks"
    assert org["listBoards"] == "boards" and org["createList"] == "lists"
    assert org["createComment"] == "comments" and org["acceptInvite"] == "invites"
    assert org["listAuditEvents"] == "audit" and org["getOrg"] == "organization"
    assert root["signUp"] == root["createToken"] == "auth" and root["createOrg"] == "organizations"


def _inline_enums(node, path=""):
    if isinstance(node, dict):
        if "enum" in node and not path.startswith("/components/schemas/") and "/variables/" not in path:
            yield path
        for key, value in node.items():
            yield from _inline_enums(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _inline_enums(value, f"{path}/{i}")


def test_named_enums_defined_once(schemas):
    schema = schemas["org"][1]
    components = schema["components"]["schemas"]
    assert list(_inline_enums(schema)) == []
    assert components["Priority"]["enum"] == ["low", "medium", "high", "urgent"]
    assert components["Role"]["enum"] == ["owner", "admin", "member"]
    assert components["TaskStatus"]["enum"] == ["open", "done"]
    assert "-created_at" in components["TaskOrdering"]["enum"]
    enums = [n for n, c in components.items() if "enum" in c]
    assert sorted(enums) == sorted(set(enums))
    task = components["TaskOut"]["properties"]
    assert task["priority"] == {"$ref": "#/components/schemas/Priority"}
    assert components["MemberOut"]["properties"]["role"] == {"$ref": "#/components/schemas/Role"}


def test_constraints_the_server_enforces(schemas):
    schema = schemas["org"][1]
    list_tasks = schema["paths"]["/api/v1/tasks"]["get"]
    cursor = next(p for p in list_tasks["parameters"] if p["name"] == "cursor")["schema"]
    assert cursor["pattern"] == "^[A-Za-z0-9_-]*$" and cursor["maxLength"] == 1024
    task = schema["components"]["schemas"]["TaskCreateIn"]["properties"]
    assert task["title"]["maxLength"] == 200
    assert re.search(task["title"]["pattern"], "Ship it")
    for bad in ("   ", "a\x00b", "\u3000"):
        assert not re.search(task["title"]["pattern"], bad)
    description = task["description"]["anyOf"][0]
    assert description["pattern"] == "^[^\\u0000]*$" and description["maxLength"] == 10000
    assert task["position"]["anyOf"][0]["type"] == "integer"
    signup = schemas["root"][1]["components"]["schemas"]["SignupIn"]["properties"]
    assert "\\u0000" in signup["password"]["pattern"]


def test_servers(schemas):
    assert schemas["root"][1]["servers"] == [{"url": "/", "description": "The root host"}]
    org_servers = schemas["org"][1]["servers"]
    assert org_servers[0]["url"] == "/"
    from_root = schemas["org_from_root"][1]
    assert [s["url"] for s in from_root["servers"]] == ["{scheme}://{slug}.localhost"]
    assert "slug" in from_root["servers"][0]["variables"]
    assert from_root["paths"] == schemas["org"][1]["paths"]


def test_unknown_host_and_unavailable_documented(schemas):
    op = schemas["org"][1]["paths"]["/api/v1/boards"]["get"]
    assert "unknown_host" in op["responses"]["404"]["description"]
    assert "database_unavailable" in op["responses"]["503"]["description"]
    assert "service_unavailable" in op["responses"]["503"]["description"]
