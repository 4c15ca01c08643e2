"""The permission table of API.md, walked through the HTTP API.

Every Action of platform_core.permissions is exercised by at least one
request, as every role (and, where the table depends on the object, as a
member who is the task's creator or assignee, the comment's author, or the
member being removed); the root host's actions as no one, a signed-in user
and an operator. The expectations below are written from API.md, not
derived from MATRIX, so a wrong row in MATRIX fails here too.

Every route of both APIs must be in the walk and name its action
(`@requires`): a route missing from the walk, a walked route that does not
exist, or a handler that names no action (or another one) fails.
"""

from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from django.urls import Resolver404, resolve
from django_tenants.utils import schema_context
from model_bakery import baker

from platform_core.permissions import MATRIX, Action, Rule
from tests.support import PASSWORD, add_member, make_user, unique_email

pytestmark = pytest.mark.django_db

OWNER, ADMIN, MEMBER = "owner", "admin", "member"
BASE = (OWNER, ADMIN, MEMBER)
CREATOR, ASSIGNEE = "member-as-creator", "member-as-assignee"
AUTHOR, ADMIN_AUTHOR = "member-as-author", "admin-as-author"
SELF = "member-as-self"
MANAGERS = frozenset({OWNER, ADMIN})
EVERYONE = frozenset(BASE)


@dataclass(frozen=True)
class Case:
    action: Action
    method: str
    path: str  # formatted with the scene's ids
    ok: int  # the status when allowed
    allowed: frozenset
    body: dict | None = None
    extra_roles: tuple = ()
    task: dict | None = None  # field overrides of the scene's task

    @property
    def roles(self) -> tuple:
        return BASE + self.extra_roles

    @property
    def id(self) -> str:
        return f"{self.action.value}:{self.method} {self.path}"


TASK_ROLES = (CREATOR, ASSIGNEE)
COMMENT_ROLES = (AUTHOR, ADMIN_AUTHOR)

CASES = [
    Case(Action.ORG_READ, "GET", "/org", 200, EVERYONE),
    Case(Action.ORG_UPDATE, "PATCH", "/org", 200, MANAGERS, {"name": "Renamed"}),
    Case(Action.MEMBER_READ, "GET", "/members", 200, EVERYONE),
    Case(Action.MEMBER_CHANGE_ROLE, "PATCH", "/members/{target}", 200, MANAGERS, {"role": "admin"}),
    Case(
        Action.MEMBER_REMOVE,
        "DELETE",
        "/members/{target}",
        204,
        MANAGERS | {SELF},
        extra_roles=(SELF,),
    ),
    Case(Action.INVITE_READ, "GET", "/invites", 200, MANAGERS),
    Case(
        Action.INVITE_CREATE,
        "POST",
        "/invites",
        201,
        MANAGERS,
        {"email": "new@example.com", "role": "member"},
    ),
    Case(Action.INVITE_REVOKE, "DELETE", "/invites/{invite}", 204, MANAGERS),
    Case(Action.BOARD_READ, "GET", "/boards", 200, EVERYONE),
    Case(Action.BOARD_READ, "GET", "/boards/{board}", 200, EVERYONE),
    Case(Action.BOARD_CREATE, "POST", "/boards", 201, MANAGERS, {"name": "New board"}),
    Case(Action.BOARD_UPDATE, "PATCH", "/boards/{board}", 200, MANAGERS, {"name": "Renamed"}),
    Case(Action.BOARD_DELETE, "DELETE", "/boards/{board}", 204, MANAGERS),
    Case(Action.LIST_CREATE, "POST", "/boards/{board}/lists", 201, MANAGERS, {"name": "New list"}),
    Case(
        Action.LIST_UPDATE,
        "PATCH",
        "/lists/{list}",
        200,
        MANAGERS,
        {"name": "Renamed", "position": 1},
    ),
    Case(Action.LIST_DELETE, "DELETE", "/lists/{list}", 204, MANAGERS),
    Case(Action.TASK_READ, "GET", "/tasks", 200, EVERYONE),
    Case(Action.TASK_READ, "GET", "/tasks/{task}", 200, EVERYONE),
    Case(
        Action.TASK_CREATE,
        "POST",
        "/tasks",
        201,
        EVERYONE,
        {"list_id": "{list}", "title": "New task"},
    ),
    *[
        Case(
            Action.TASK_UPDATE,
            method,
            path,
            200,
            MANAGERS | {CREATOR, ASSIGNEE},
            body,
            TASK_ROLES,
            task,
        )
        for method, path, body, task in [
            ("PATCH", "/tasks/{task}", {"title": "Renamed", "due_at": None}, None),
            ("POST", "/tasks/{task}/assign", {"assignee_id": "{target}"}, None),
            ("POST", "/tasks/{task}/complete", None, None),
            ("POST", "/tasks/{task}/reopen", None, {"status": "done"}),
            ("POST", "/tasks/{task}/move", {"list_id": "{other_list}", "position": 0}, None),
        ]
    ],
    Case(
        Action.TASK_DELETE,
        "DELETE",
        "/tasks/{task}",
        204,
        MANAGERS | {CREATOR},
        extra_roles=TASK_ROLES,
    ),
    Case(Action.COMMENT_READ, "GET", "/tasks/{task}/comments", 200, EVERYONE),
    Case(Action.COMMENT_CREATE, "POST", "/tasks/{task}/comments", 201, EVERYONE, {"body": "Hello"}),
    # Edit: the author only, whatever the role. Delete: the author, or owners and admins.
    Case(
        Action.COMMENT_UPDATE,
        "PATCH",
        "/comments/{comment}",
        200,
        frozenset(COMMENT_ROLES),
        {"body": "Edited"},
        COMMENT_ROLES,
    ),
    Case(
        Action.COMMENT_DELETE,
        "DELETE",
        "/comments/{comment}",
        204,
        MANAGERS | set(COMMENT_ROLES),
        extra_roles=COMMENT_ROLES,
    ),
    Case(Action.AUDIT_READ, "GET", "/audit", 200, MANAGERS),
    Case(Action.TOKEN_READ, "GET", "/tokens", 200, EVERYONE),
    Case(Action.TOKEN_READ_ALL, "GET", "/tokens?all=true", 200, MANAGERS),
    Case(Action.TOKEN_CREATE, "POST", "/tokens", 201, EVERYONE, {"name": "CI", "scopes": ["read"]}),
    # Revoke: one's own token (SELF owns it), or owners and admins any.
    Case(Action.TOKEN_REVOKE, "DELETE", "/tokens/{token}", 204, MANAGERS | {SELF}, extra_roles=(SELF,)),
]

WALK = [pytest.param(case, role, id=f"{case.id}:{role}") for case in CASES for role in case.roles]


def _format(value, ids: dict):
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {key: _format(item, ids) for key, item in value.items()}
    return value


def _acting_user(org_world, role: str):
    return {OWNER: org_world.owner, ADMIN: org_world.admin, ADMIN_AUTHOR: org_world.admin}.get(
        role, org_world.member
    )


def _scene(api, org_world, role: str, case: Case) -> SimpleNamespace:
    """A board with two lists, a task and a comment whose creator, assignee and
    author are a bystander member unless the role says the actor is one of them."""
    actor = _acting_user(org_world, role)
    bystander = make_user(unique_email("bystander"))
    add_member(org_world.org, bystander, "member")
    target = actor if role == SELF else make_user(unique_email("target"))
    if role != SELF:
        add_member(org_world.org, target, "member")
    with schema_context(org_world.org.schema_name):
        board = baker.make_recipe("boards.board", created_by=org_world.owner.id)
        task_list, other_list = baker.make_recipe("boards.task_list", board=board, _quantity=2)
        task = baker.make_recipe(
            "boards.task",
            board=board,
            list=task_list,
            created_by=actor.id if role == CREATOR else bystander.id,
            assignee_id=actor.id if role == ASSIGNEE else bystander.id,
            **(case.task or {}),
        )
        comment = baker.make_recipe(
            "boards.comment",
            task=task,
            author_id=actor.id if role in COMMENT_ROLES else bystander.id,
        )
    ids = {
        "board": board.id,
        "list": task_list.id,
        "other_list": other_list.id,
        "task": task.id,
        "comment": comment.id,
        "target": target.id,
        "bystander": bystander.id,
        "invite": "",
        "token": "",
    }
    if "{token}" in case.path:
        from tests.tokens.helpers import make_token

        ids["token"] = make_token(org_world, target if role == SELF else bystander)[1]
    if "{invite}" in case.path:
        r = api(org_world, org_world.owner).post(
            "/invites", {"email": unique_email("invitee"), "role": "member"}
        )
        assert r.status_code == 201, f"cannot create an invite to revoke: {r.content}"
        ids["invite"] = r.json()["id"]
    return SimpleNamespace(actor=actor, ids=ids)


def _require_route(path: str, urlconf: str = "platform_core.urls_tenant") -> None:
    """A walked route that does not resolve is a failure, never a skip."""
    try:
        resolve("/api/v1" + path.split("?")[0], urlconf=urlconf)
    except Resolver404:
        pytest.fail(f"{path} does not exist, yet the permission table walks it")


def _audit_count(org_world) -> int:
    from tenant_apps.audit.models import AuditEvent

    with schema_context(org_world.org.schema_name):
        return AuditEvent.objects.count()


@pytest.mark.parametrize(("case", "role"), WALK)
def test_permission_matrix(api, world, case: Case, role: str):
    org_world = world.a
    scene = _scene(api, org_world, role, case)
    path = _format(case.path, {k: str(v) for k, v in scene.ids.items()})
    _require_route(path)
    body = _format(case.body, {k: str(v) for k, v in scene.ids.items()})
    client = api(org_world, scene.actor)
    events_before = _audit_count(org_world)

    if case.method == "GET":
        response = client.get(path)
    elif case.method == "POST":
        response = client.post(path, body)
    elif case.method == "PATCH":
        response = client.patch(path, body)
    else:
        response = client.delete(path)

    assert response.status_code != 405, f"{case.method} {case.path} does not exist"
    if role in case.allowed:
        assert response.status_code == case.ok, response.content
        if case.method != "GET":
            assert _audit_count(org_world) == events_before + 1, (
                "a mutation writes exactly one event"
            )
    else:
        assert response.status_code == 403, response.content
        assert response.json()["code"] in {"forbidden", "not_a_member"}
        assert _audit_count(org_world) == events_before, "a denied request writes no event"


def test_walk_covers_every_action():
    walked = {case.action for case in CASES} | {case.action for case in ROOT_CASES}
    walked |= {Action.PLATFORM_ACCESS}  # test_operator_rights_are_the_matrix
    missing = set(Action) - walked
    assert not missing, f"actions missing from the permission walk: {sorted(missing)}"


def test_walk_covers_every_role_for_each_action():
    for case in CASES:
        assert set(BASE) <= set(case.roles), case.id
        assert case.allowed <= set(case.roles), f"{case.id}: an allowed role is not walked"
    task_update_paths = {c.path for c in CASES if c.action == Action.TASK_UPDATE}
    assert task_update_paths == {
        "/tasks/{task}",
        "/tasks/{task}/assign",
        "/tasks/{task}/complete",
        "/tasks/{task}/reopen",
        "/tasks/{task}/move",
    }


def test_outsider_is_refused_everywhere(api, world):
    """Not a member of this organization: 403 on every endpoint of the walk."""
    client = api(world.a, world.outsider)
    some_id = str(world.a.org.id)
    for case in CASES:
        path = case.path.format(
            board=some_id,
            list=some_id,
            other_list=some_id,
            task=some_id,
            comment=some_id,
            target=some_id,
            invite=some_id,
            bystander=some_id,
            token=some_id,
        )
        _require_route(path)
        if case.method in ("POST", "PATCH"):
            response = getattr(client, case.method.lower())(path, case.body)
        else:
            response = getattr(client, case.method.lower())(path)
        assert response.status_code == 403, (case.id, response.content)
        assert response.json()["code"] == "not_a_member"


# --- the root host, and accepting an invite: no one, a signed-in user, an operator ------------

ANYONE, USER, OPERATOR = "anyone", "user", "operator"
PRINCIPALS = (ANYONE, USER, OPERATOR)
SIGNED_IN = frozenset({USER, OPERATOR})
ALL_PRINCIPALS = frozenset(PRINCIPALS)


@dataclass(frozen=True)
class RootCase:
    action: Action
    method: str
    path: str  # formatted with the scene's values
    ok: int
    allowed: frozenset
    body: dict | None = None
    host: str = "root"  # or "org": the organization host (acme)

    @property
    def id(self) -> str:
        return f"{self.action.value}:{self.method} {self.path}"


ROOT_CASES = [
    RootCase(Action.ACCOUNT_SIGNUP, "POST", "/auth/signup", 201, ALL_PRINCIPALS,
             {"email": "{new_email}", "password": PASSWORD, "name": "New"}),
    RootCase(Action.ACCOUNT_TOKEN, "POST", "/auth/token", 200, ALL_PRINCIPALS,
             {"email": "{email}", "password": PASSWORD}),
    RootCase(Action.ACCOUNT_TOKEN, "POST", "/auth/token/refresh", 200, ALL_PRINCIPALS,
             {"refresh": "{refresh}"}),
    RootCase(Action.ACCOUNT_LOGOUT, "POST", "/auth/logout", 204, SIGNED_IN, {"refresh": "{refresh}"}),
    RootCase(Action.ACCOUNT_READ, "GET", "/me", 200, SIGNED_IN),
    RootCase(Action.ACCOUNT_ORG_CREATE, "POST", "/orgs", 201, SIGNED_IN,
             {"name": "New org", "slug": "{new_slug}"}),
    RootCase(Action.ACCOUNT_ORG_LIST, "GET", "/orgs", 200, SIGNED_IN),
    RootCase(Action.PLATFORM_ORG_READ, "GET", "/platform/orgs", 200, frozenset({OPERATOR})),
    RootCase(Action.PLATFORM_ORG_CREATE, "POST", "/platform/orgs", 201, frozenset({OPERATOR}),
             {"owner_email": "{email}", "name": "Provisioned", "slug": "{new_slug}"}),
    RootCase(Action.PLATFORM_ORG_READ, "GET", "/platform/orgs/{slug}", 200, frozenset({OPERATOR})),
    RootCase(Action.PLATFORM_ORG_UPDATE, "PATCH", "/platform/orgs/{slug}", 200, frozenset({OPERATOR}),
             {"name": "Renamed"}),
    RootCase(Action.PLATFORM_ORG_SUSPEND, "POST", "/platform/orgs/{slug}/suspend", 200,
             frozenset({OPERATOR})),
    RootCase(Action.PLATFORM_ORG_SUSPEND, "POST", "/platform/orgs/{slug}/resume", 200,
             frozenset({OPERATOR})),
    RootCase(Action.PLATFORM_ORG_DELETE, "DELETE", "/platform/orgs/{slug}", 204, frozenset({OPERATOR})),
    RootCase(Action.INVITE_ACCEPT, "POST", "/invites/accept", 200, SIGNED_IN, {"token": "{invite_token}"},
             host="org"),
]

ROOT_WALK = [
    pytest.param(case, who, id=f"{case.id}:{who}") for case in ROOT_CASES for who in PRINCIPALS
]


def _unique_slug() -> str:
    import uuid

    return "m" + uuid.uuid4().hex[:12]


def _root_scene(api, world, case: RootCase, who: str) -> tuple[object, dict]:
    """A fresh user (an operator if `who` says so) with a refresh token, an
    organization to act on, and an invite to that user's email."""
    from provisioning.services import org_provision

    user = make_user(unique_email(who), is_staff=who == OPERATOR)
    values = {"email": user.email, "new_email": unique_email("signup"), "new_slug": _unique_slug()}
    if "{refresh}" in str(case.body):
        r = api("root").post("/auth/token", {"email": user.email, "password": PASSWORD})
        assert r.status_code == 200, r.content
        values["refresh"] = r.json()["refresh"]
    if "{slug}" in case.path:
        owner = make_user(unique_email("scratch-owner"))
        values["slug"] = org_provision(owner=owner, name="Scratch", slug=_unique_slug()).slug
    if "{invite_token}" in str(case.body):
        from tests.invites.helpers import token_of

        r = api(world.a, world.a.owner).post("/invites", {"email": user.email, "role": "member"})
        assert r.status_code == 201, r.content
        values["invite_token"] = token_of(r.json()["id"])
    return user, values


@pytest.mark.parametrize(("case", "who"), ROOT_WALK)
def test_root_permission_matrix(api, world, case: RootCase, who: str):
    user, values = _root_scene(api, world, case, who)
    path = _format(case.path, values)
    _require_route(path, "platform_core.urls_public" if case.host == "root" else "platform_core.urls_tenant")
    body = _format(case.body, values)
    client = api("root" if case.host == "root" else world.a, None if who == ANYONE else user)
    response = getattr(client, case.method.lower())(path, *([body] if case.method in ("POST", "PATCH") else []))
    assert response.status_code != 405, f"{case.method} {case.path} does not exist"
    if who in case.allowed:
        assert response.status_code == case.ok, response.content
    elif who == ANYONE:
        assert response.status_code == 401, response.content
    else:
        assert response.status_code == 403, response.content
        assert response.json()["code"] == "forbidden"


def test_operator_rights_are_the_matrix(api, world, monkeypatch):
    """OperatorAuth and the Django admin ask the matrix (Action.PLATFORM_ACCESS),
    not `is_staff` directly: take the right away in the matrix and an operator
    is refused on /platform/... and in the admin."""
    from django.test import RequestFactory

    from platform_core.admin_access import is_operator

    request = RequestFactory().get("/admin/")
    request.user = world.operator
    assert is_operator(request)
    assert api("root", world.operator).get("/platform/orgs").status_code == 200

    monkeypatch.setitem(MATRIX, Action.PLATFORM_ACCESS, Rule(frozenset()))
    assert not is_operator(request)
    response = api("root", world.operator).get("/platform/orgs")
    assert response.status_code == 403, response.content
    assert response.json() == {"code": "forbidden", "detail": "Operators only."}


# --- every route names its action, and every route is walked ---------------------------


def _normalize(path: str) -> str:
    import re

    return re.sub(r"\{[^}]*\}", "{}", "/" + path.strip("/"))


# Routes the HTTP walks above do not call, with the action their handler must name.
UNWALKED = {
    # A never-ending text/event-stream; its access rules are tests/live's.
    ("tenant", "GET", "/boards/{}/events"): Action.BOARD_READ,
}


def _expected_routes() -> dict:
    expected = dict(UNWALKED)
    for case in CASES:
        if "?" in case.path:  # a variant of a route walked without it (GET /tokens?all=true)
            continue
        expected[("tenant", case.method, _normalize(case.path))] = case.action
    for case in ROOT_CASES:
        api_name = "public" if case.host == "root" else "tenant"
        expected[(api_name, case.method, _normalize(case.path))] = case.action
    return expected


def _routes() -> dict:
    from platform_core.api import public_api, tenant_api

    found = {}
    for api_name, api in (("public", public_api), ("tenant", tenant_api)):
        for prefix, router in api._routers:
            for path, path_view in router.path_operations.items():
                for operation in path_view.operations:
                    for method in operation.methods:
                        found[(api_name, method, _normalize(prefix + path))] = operation.view_func
    return found


def test_every_route_names_its_action_and_is_walked():
    routes = _routes()
    expected = _expected_routes()
    assert routes, "no routes found: the walk would prove nothing"
    unnamed = sorted(key for key, view in routes.items() if getattr(view, "action", None) not in MATRIX)
    assert not unnamed, f"handlers that name no action (use @requires): {unnamed}"
    unwalked = sorted(set(routes) - set(expected))
    assert not unwalked, f"routes missing from the permission walk: {unwalked}"
    gone = sorted(set(expected) - set(routes))
    assert not gone, f"walked routes that do not exist: {gone}"
    wrong = {key: (routes[key].action, action) for key, action in expected.items() if routes[key].action != action}
    assert not wrong, f"handlers naming another action than the walk expects (named, expected): {wrong}"


def test_requires_authorizes_and_checks_per_object_handlers():
    from platform_core.errors import Forbidden
    from platform_core.permissions import authorize, requires

    member = SimpleNamespace(role=MEMBER, user_id="u1")
    request = SimpleNamespace(auth=member)
    ran = []

    @requires(Action.BOARD_CREATE)
    def create(request):
        ran.append("create")

    with pytest.raises(Forbidden):
        create(request)
    assert ran == [], "an object-less action is refused before the handler runs"

    @requires(Action.TASK_UPDATE, per_object=True)
    def forgets(request):
        return "done"

    with pytest.raises(RuntimeError, match="without authorizing"):
        forgets(request)

    @requires(Action.TASK_UPDATE, per_object=True)
    def checks(request):
        authorize(request.auth, Action.TASK_UPDATE, SimpleNamespace(created_by="u1", assignee_id=None))
        return "done"

    assert checks(request) == "done"
    assert checks.action is Action.TASK_UPDATE


# --- the special rules are predicates of the matrix -----------------------------------------


@pytest.mark.parametrize(
    ("inviter", "role", "allowed"),
    [
        (OWNER, OWNER, True), (OWNER, ADMIN, True), (OWNER, MEMBER, True),
        (ADMIN, OWNER, False), (ADMIN, ADMIN, True), (ADMIN, MEMBER, True),
        (MEMBER, MEMBER, False), (None, MEMBER, False),
    ],
)
def test_may_invite(inviter, role, allowed):
    from platform_core.permissions import may_invite

    assert may_invite(inviter, role) is allowed


def test_last_owner_and_owner_only_promotion_are_predicates():
    from platform_core.permissions import leaves_no_owner, may_change_member

    assert leaves_no_owner(role=OWNER, new_role=None, owners=1)
    assert leaves_no_owner(role=OWNER, new_role=ADMIN, owners=1)
    assert not leaves_no_owner(role=OWNER, new_role=OWNER, owners=1)
    assert not leaves_no_owner(role=OWNER, new_role=None, owners=2)
    assert not leaves_no_owner(role=ADMIN, new_role=None, owners=1)

    admin = SimpleNamespace(role=ADMIN, user_id="a")
    owner = SimpleNamespace(role=OWNER, user_id="o")
    member_target = SimpleNamespace(role=MEMBER, user_id="m")
    owner_target = SimpleNamespace(role=OWNER, user_id="o2")
    assert may_change_member(owner, owner_target, ADMIN) is None
    assert may_change_member(owner, member_target, OWNER) is None
    assert may_change_member(admin, member_target, ADMIN) is None
    assert may_change_member(admin, member_target, OWNER) == "Only an owner may make someone an owner."
    assert may_change_member(admin, owner_target, None) == "Only an owner may change or remove an owner."
    me = SimpleNamespace(role=MEMBER, user_id="m")
    assert may_change_member(me, member_target, None) is None, "a member may leave"


def test_roles_are_defined_once():
    from platform_core import permissions
    from shared_apps.orgs import models

    assert models.Role is permissions.Role
    assert [r.value for r in permissions.Role] == ["owner", "admin", "member"]
    assert models.Membership._meta.get_field("role").choices == permissions.Role.choices


# --- API tokens: scopes cap the role (API.md "API tokens") ------------------------------

# Written from API.md: read = GET of everything but the audit log; write = tasks
# and comments; manage = the organization, boards, lists, members, invites,
# tokens; audit = GET /audit. None: no token may (creating tokens).
SCOPE_EXPECTED = {
    Action.ORG_READ: "read", Action.MEMBER_READ: "read", Action.INVITE_READ: "read",
    Action.BOARD_READ: "read", Action.TASK_READ: "read", Action.COMMENT_READ: "read",
    Action.TOKEN_READ: "read", Action.TOKEN_READ_ALL: "read",
    Action.TASK_CREATE: "write", Action.TASK_UPDATE: "write", Action.TASK_DELETE: "write",
    Action.COMMENT_CREATE: "write", Action.COMMENT_UPDATE: "write", Action.COMMENT_DELETE: "write",
    Action.ORG_UPDATE: "manage", Action.MEMBER_CHANGE_ROLE: "manage", Action.MEMBER_REMOVE: "manage",
    Action.INVITE_CREATE: "manage", Action.INVITE_REVOKE: "manage",
    Action.BOARD_CREATE: "manage", Action.BOARD_UPDATE: "manage", Action.BOARD_DELETE: "manage",
    Action.LIST_CREATE: "manage", Action.LIST_UPDATE: "manage", Action.LIST_DELETE: "manage",
    Action.TOKEN_REVOKE: "manage",
    Action.AUDIT_READ: "audit",
    Action.TOKEN_CREATE: None,
}
ALL_SCOPES = ("read", "write", "manage", "audit")
SCOPE_WALK = [
    pytest.param(case, scope, id=f"{case.id}:{scope}")
    for case in CASES
    for scope in ALL_SCOPES
]


def test_scope_table_covers_every_organization_action():
    org_actions = {case.action for case in CASES}
    assert org_actions == set(SCOPE_EXPECTED)


@pytest.mark.parametrize(("case", "scope"), SCOPE_WALK)
def test_scope_matrix(world, case: Case, scope: str):
    """An API token of a member the role allows, holding only `scope`: the
    case's success when `scope` is the action's, else 403 insufficient_scope."""
    from tests.support import ApiClient
    from tests.tokens.helpers import make_token

    org_world = world.a
    role = OWNER if OWNER in case.allowed else next(r for r in case.roles if r in case.allowed)
    scene = _scene(lambda ow, user: ApiClient(ow.host, token=world.token(user)), org_world, role, case)
    raw, _ = make_token(org_world, scene.actor, scopes=[scope])
    path = _format(case.path, {k: str(v) for k, v in scene.ids.items()})
    body = _format(case.body, {k: str(v) for k, v in scene.ids.items()})
    client = ApiClient(org_world.host, token=raw)
    if case.method in ("POST", "PATCH"):
        response = getattr(client, case.method.lower())(path, body)
    else:
        response = getattr(client, case.method.lower())(path)
    if SCOPE_EXPECTED[case.action] == scope:
        assert response.status_code == case.ok, response.content
    else:
        assert response.status_code == 403, response.content
        assert response.json()["code"] == "insufficient_scope"
