"""The published OpenAPI documents: what Ninja generates, made exact.

Ninja's schema is the starting point; `finish_schema` then gives every
operation a short `operationId` and one tag per resource, merges the bearer
schemes into one, names the enums (one definition each), makes every 4xx/5xx
response reference the one `Error` schema (adding the answers every operation
can give: 400 `invalid_json` and 413 on operations with a body, 401, 404
`unknown_host` and 403 `org_suspended` on organization hosts, 500, 503 with
`Retry-After`), states the server's rules on text (no NUL characters) and
cursors, and adds `servers`.

Response keys are strings throughout: Ninja keys responses by int, and mixing
in a string key for the same status produces a document with a duplicated
key once serialised (the bug of issue 15).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

# --- operation ids and tags ----------------------------------------------------------

# View function names are `<entity>_<verb>`; these do not follow the rule.
OPERATION_OVERRIDES: dict[str, tuple[str, str]] = {
    "signup": ("signUp", "auth"),
    "token": ("createToken", "auth"),
    "token_refresh": ("refreshToken", "auth"),
    "logout": ("logOut", "auth"),
    "me": ("getMe", "auth"),
    "audit_list": ("listAuditEvents", "audit"),
    "board_events": ("streamBoardEvents", "live"),
    "org_rename": ("updateOrg", "organization"),
}
VERBS = {"list": "list", "detail": "get", "create": "create", "update": "update", "delete": "delete"}
# Entity of the function name -> the resource's tag.
TAGS = {
    "org": "organizations",
    "platform_org": "platform",
    "member": "members",
    "invite": "invites",
    "board": "boards",
    "list": "lists",
    "task": "tasks",
    "comment": "comments",
}
PLURAL_VERBS = {"list"}


def _camel(words: list[str]) -> str:
    return "".join(w[:1].upper() + w[1:] for w in words)


def operation_id_and_tag(func_name: str, *, org_host: bool) -> tuple[str, str]:
    """`task_list` -> (`listTasks`, `tasks`); `platform_org_suspend` -> (`suspendPlatformOrg`, `platform`)."""
    if func_name in OPERATION_OVERRIDES:
        return OPERATION_OVERRIDES[func_name]
    entity, _, verb = func_name.rpartition("_")
    if not entity:
        return func_name, "other"
    noun = _camel(entity.split("_")) + ("s" if verb in PLURAL_VERBS else "")
    tag = TAGS.get(entity, entity + "s")
    if entity == "org" and org_host:
        tag = "organization"
    return VERBS.get(verb, verb) + noun, tag


# Ninja's auth classes (one bearer scheme each) -> who the operation admits, kept
# as `x-auth` once they are merged into the one `bearerAuth` scheme.
AUTH_KINDS = {
    "MemberAuth": "member",  # a member of the host's organization
    "StreamMemberAuth": "member",  # the same, also as ?access_token= (EventSource)
    "JWTAuth": "user",  # any signed-in user
    "OperatorAuth": "operator",  # a user with is_staff
}

# --- named enums ----------------------------------------------------------------------

ENUMS: dict[str, list[str]] = {
    "Role": ["owner", "admin", "member"],
    "TaskStatus": ["open", "done"],
    "Priority": ["low", "medium", "high", "urgent"],
    # The values of tenant_apps.boards.schemas.TaskOrdering, in its order (tests/schema/test_enums.py).
    "TaskOrdering": ["position", "due_at", "-created_at", "priority", "updated_at"],
    "InviteStatus": ["pending", "accepted", "revoked", "expired"],
    "OrgStatus": ["spare", "active", "suspended", "deleted"],
}
_ENUM_BY_VALUES = {frozenset(values): name for name, values in ENUMS.items()}
_ALTERNATION = re.compile(r"^\^\(([a-z_|-]+)\)\$$")

# --- text and cursors -----------------------------------------------------------------

NO_NUL = "^[^\\u0000]*$"
CURSOR = {
    "type": "string",
    "maxLength": 1024,
    "pattern": "^[A-Za-z0-9_-]*$",
    "description": "`next_cursor` of the previous page, as given (opaque; a cursor made up or "
    "made for another ordering is a 422).",
}

# --- errors ---------------------------------------------------------------------------

ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "description": "The error envelope of every 4xx and 5xx answer. `errors` comes with 422 "
    "`validation_error` only.",
    "required": ["code", "detail"],
    "properties": {
        "code": {"type": "string", "description": "Machine-readable code (`not_found`, `validation_error`, ...)."},
        "detail": {"type": "string", "description": "A sentence for humans."},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["loc", "msg"],
                "properties": {
                    "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
                    "msg": {"type": "string"},
                },
            },
        },
    },
}
RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer", "minimum": 1}}
}
DESCRIPTIONS = {
    "400": "Malformed JSON (`invalid_json`).",
    "401": "Missing, expired, malformed or revoked credentials (`not_authenticated`).",
    "403": "Not allowed (`forbidden`).",
    "404": "Not found (`not_found`).",
    "409": "Conflict with the current state (`conflict` and more specific codes).",
    "410": "No longer available (`gone`).",
    "413": "Request body too large (`payload_too_large`).",
    "421": "Reached a server that does not serve this endpoint (`misdirected`).",
    "422": "Invalid input (`validation_error`, with `errors`).",
    "429": "Too many requests (`rate_limited`); retry after `Retry-After` seconds.",
    "500": "Internal server error (`server_error`).",
    "503": "The database (`database_unavailable`) or another service (`service_unavailable`) is "
    "unavailable; retry after `Retry-After` seconds.",
}
ORG_HOST_404 = (
    "Not found (`not_found`): also for another organization's ids. A host that is no known "
    "organization answers `unknown_host`."
)
ORG_HOST_403 = "Not allowed (`forbidden`), or the organization is suspended (`org_suspended`)."
ERROR_REF = {"$ref": "#/components/schemas/Error"}


def _error_response(status: str, description: str) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": dict(ERROR_REF)}},
    }
    if status in ("429", "503"):
        response["headers"] = dict(RETRY_AFTER)
    return response


# --- the walk -------------------------------------------------------------------------


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _enum_name(node: dict[str, Any]) -> str | None:
    values = node.get("enum")
    if values is None and isinstance(node.get("pattern"), str):
        match = _ALTERNATION.match(node["pattern"])
        values = match.group(1).split("|") if match else None
    if not values or not all(isinstance(v, str) for v in values):
        return None
    return _ENUM_BY_VALUES.get(frozenset(values))


def _varname(value: str) -> str:
    name = value.lstrip("-").upper().replace("-", "_")
    return name + "_DESC" if value.startswith("-") else name


def _name_enums(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    for name, values in ENUMS.items():
        components[name] = {
            "title": name,
            "type": "string",
            "enum": values,
            # Member names for generated clients (`-created_at` -> CREATED_AT_DESC, not VALUE_2).
            "x-enum-varnames": [_varname(v) for v in values],
        }
    for node in list(_walk(schema)):
        if any(node is components[name] for name in ENUMS):
            continue
        enum = _enum_name(node)
        if enum is None:
            continue
        keep = {k: v for k, v in node.items() if k in ("description", "default")}
        node.clear()
        node.update({"$ref": f"#/components/schemas/{enum}", **keep})
    # Only the enums in use.
    text = repr(schema)
    for name in ENUMS:
        if text.count(f"#/components/schemas/{name}'") == 0:
            del components[name]


def _referenced(schema: dict[str, Any], roots: list[Any]) -> list[dict[str, Any]]:
    """Every node reachable from `roots`, following $refs into components (each once)."""
    components = schema["components"]["schemas"]
    seen: set[str] = set()
    todo = list(roots)
    nodes: list[dict[str, Any]] = []
    while todo:
        for node in _walk(todo.pop()):
            nodes.append(node)
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
                if name not in seen and name in components:
                    seen.add(name)
                    todo.append(components[name])
    return nodes


def _constrain_input_text(schema: dict[str, Any]) -> None:
    roots: list[Any] = []
    for operations in schema["paths"].values():
        for operation in operations.values():
            roots.append(operation.get("requestBody", {}))
            roots.extend(p.get("schema", {}) for p in operation.get("parameters", []))
    for node in _referenced(schema, roots):
        if node.get("type") == "string" and not ({"format", "pattern", "enum", "$ref"} & set(node)):
            node["pattern"] = NO_NUL


def finish_schema(schema: dict[str, Any], *, org_host: bool, servers: list[dict[str, Any]]) -> dict[str, Any]:
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {})
    components["securitySchemes"] = {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "description": "An access token from `POST /api/v1/auth/token` on the root host.",
        }
    }
    for operations in schema["paths"].values():
        for operation in operations.values():
            if operation.get("security"):
                schemes = {name for item in operation["security"] for name in item}
                operation["x-auth"] = AUTH_KINDS.get(sorted(schemes)[0], "user")
                operation["security"] = [{"bearerAuth": []}]
            for param in operation.get("parameters", []):
                if param.get("name") == "cursor" and param.get("in") == "query":
                    param["schema"] = dict(CURSOR)
            responses = {str(status): answer for status, answer in operation.get("responses", {}).items()}
            if "requestBody" in operation:
                responses.setdefault("400", {})
                responses.setdefault("413", {})
            if operation.get("security"):
                responses.setdefault("401", {})
            if operation.get("parameters") or "requestBody" in operation:
                responses.setdefault("422", {})
            if org_host:
                responses.setdefault("403", {})
                responses.setdefault("404", {})
            responses.setdefault("500", {})
            responses.setdefault("503", {})
            for status in list(responses):
                if int(status) >= 400:
                    description = DESCRIPTIONS.get(status, "Error.")
                    if org_host and status == "404":
                        description = ORG_HOST_404
                    if org_host and status == "403":
                        description = ORG_HOST_403
                    responses[status] = _error_response(status, description)
            operation["responses"] = dict(sorted(responses.items()))
    components["schemas"]["Error"] = ERROR_SCHEMA
    for unused in ("ErrorOut", "ValidationErrorOut", "ValidationErrorItem"):
        if f"#/components/schemas/{unused}'" not in repr(schema["paths"]):
            components["schemas"].pop(unused, None)
    _name_enums(schema)
    _constrain_input_text(schema)
    schema["servers"] = servers
    tag_names = sorted({tag for ops in schema["paths"].values() for op in ops.values() for tag in op.get("tags", [])})
    schema["tags"] = [{"name": name} for name in tag_names]
    return schema
