"""The permission table of API.md, walked through the HTTP API.

Every Action of platform_core.permissions is exercised by at least one
request, as every role (and, where the table depends on the object, as a
member who is the task's creator or assignee, the comment's author, or the
member being removed). The expectations below are written from API.md, not
derived from MATRIX, so a wrong row in MATRIX fails here too.
"""

from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from django.urls import Resolver404, resolve
from django_tenants.utils import schema_context
from model_bakery import baker

from platform_core.permissions import Action
from tests.support import add_member, make_user, unique_email

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
    }
    if "{invite}" in case.path:
        r = api(org_world, org_world.owner).post(
            "/invites", {"email": unique_email("invitee"), "role": "member"}
        )
        if r.status_code != 201:
            pytest.skip(f"cannot create an invite to revoke (POST /invites -> {r.status_code})")
        ids["invite"] = r.json()["id"]
    return SimpleNamespace(actor=actor, ids=ids)


def _require_route(path: str) -> None:
    try:
        match = resolve("/api/v1" + path, urlconf="platform_core.urls_tenant")
    except Resolver404:
        pytest.skip(f"{path} is not implemented yet")
    if match is None:  # pragma: no cover
        pytest.skip(f"{path} is not implemented yet")


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

    if response.status_code == 405:
        pytest.skip(f"{case.method} {case.path} is not implemented yet")
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
    walked = {case.action for case in CASES}
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
        )
        try:
            resolve("/api/v1" + path, urlconf="platform_core.urls_tenant")
        except Resolver404:
            continue  # not implemented yet (see _require_route)
        if case.method in ("POST", "PATCH"):
            response = getattr(client, case.method.lower())(path, case.body)
        else:
            response = getattr(client, case.method.lower())(path)
        assert response.status_code == 403, (case.id, response.content)
        assert response.json()["code"] == "not_a_member"
