"""The permission matrix of API.md, as data. Handlers name an Action; nothing else checks roles.

Each rule lists the principals that may always do the action, plus an optional
predicate that can allow the others for a given object (creator or assignee of
a task, author of a comment, leaving oneself, ...).

Principals: the member roles of an organization (`Role`), and on the root host
`ANYONE` (no credentials), `USER` (any signed-in user) and `OPERATOR`
(an active user with `is_staff`). Operator rights are actions of this matrix
too (`Action.PLATFORM_*`); `OperatorAuth` and the Django admin ask it.

Every API handler names its action with `@requires(Action.X)`: the decorator
records the action on the view (tests/test_permissions_matrix.py walks every
route of both APIs and fails on one without it) and authorizes the caller
before the handler runs; with `per_object=True` the handler authorizes
against the object it looked up (`authorize(actor, Action.X, obj)`), and the
decorator checks that it did.
"""

import contextvars
import functools
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar, cast

from django.db import models

from platform_core.denials import denied_message
from platform_core.errors import Forbidden


class Role(models.TextChoices):
    """A member's role in an organization (the stored values of Membership.role)."""

    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


# Principals outside an organization (root host, operators).
ANYONE = "anyone"
USER = "user"
OPERATOR = "operator"

ALL_ROLES = frozenset(Role)
MANAGERS = frozenset({Role.OWNER, Role.ADMIN})
SIGNED_IN = frozenset({USER, OPERATOR})
EVERYONE = frozenset({ANYONE, USER, OPERATOR})
OPERATORS = frozenset({OPERATOR})


class Action(StrEnum):
    # root host: accounts and organizations of the caller
    ACCOUNT_SIGNUP = "account.signup"
    ACCOUNT_TOKEN = "account.token"  # obtain or refresh a token pair
    ACCOUNT_LOGOUT = "account.logout"
    ACCOUNT_READ = "account.read"  # GET /me
    ACCOUNT_ORG_CREATE = "account.org_create"
    ACCOUNT_ORG_LIST = "account.org_list"
    # root host: operators
    PLATFORM_ACCESS = "platform.access"  # /platform/... at all, and the Django admin
    PLATFORM_ORG_READ = "platform.org_read"
    PLATFORM_ORG_CREATE = "platform.org_create"
    PLATFORM_ORG_UPDATE = "platform.org_update"
    PLATFORM_ORG_SUSPEND = "platform.org_suspend"  # suspend and resume
    PLATFORM_ORG_DELETE = "platform.org_delete"
    # organization hosts
    ORG_READ = "org.read"
    ORG_UPDATE = "org.update"
    MEMBER_READ = "member.read"
    MEMBER_CHANGE_ROLE = "member.change_role"
    MEMBER_REMOVE = "member.remove"
    INVITE_READ = "invite.read"
    INVITE_CREATE = "invite.create"
    INVITE_REVOKE = "invite.revoke"
    INVITE_ACCEPT = "invite.accept"  # any signed-in user holding a token
    BOARD_READ = "board.read"
    BOARD_CREATE = "board.create"
    BOARD_UPDATE = "board.update"
    BOARD_DELETE = "board.delete"
    LIST_CREATE = "list.create"
    LIST_UPDATE = "list.update"
    LIST_DELETE = "list.delete"
    TASK_READ = "task.read"
    TASK_CREATE = "task.create"
    TASK_UPDATE = "task.update"  # also assign, move, complete, reopen
    TASK_DELETE = "task.delete"
    COMMENT_READ = "comment.read"
    COMMENT_CREATE = "comment.create"
    COMMENT_UPDATE = "comment.update"
    COMMENT_DELETE = "comment.delete"
    AUDIT_READ = "audit.read"
    TOKEN_READ = "token.read"  # the caller's own API tokens
    TOKEN_READ_ALL = "token.read_all"  # everyone's (`GET /tokens?all=true`)
    TOKEN_CREATE = "token.create"
    TOKEN_REVOKE = "token.revoke"


class Scope(StrEnum):
    """What an API token may do, on top of (never beyond) its owner's role."""

    READ = "read"  # GET of everything the role may read, except the audit log
    WRITE = "write"  # tasks and comments
    MANAGE = "manage"  # boards, lists, members, invites, tokens, webhooks
    AUDIT = "audit"  # GET /audit


# --- object predicates: may a principal outside `roles` still do it? --------------


def is_task_creator_or_assignee(actor: Any, task: Any) -> bool:
    return actor.user_id in (task.created_by, task.assignee_id)


def is_task_creator(actor: Any, task: Any) -> bool:
    return bool(actor.user_id == task.created_by)


def is_comment_author(actor: Any, comment: Any) -> bool:
    return bool(actor.user_id == comment.author_id)


def is_self(actor: Any, membership: Any) -> bool:
    return bool(actor.user_id == membership.user_id)


def is_token_owner(actor: Any, token: Any) -> bool:
    return bool(actor.user_id == token.user_id)


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    unless: Callable[[Any, Any], bool] | None = None  # grants others, per object


MATRIX: dict[Action, Rule] = {
    Action.ACCOUNT_SIGNUP: Rule(EVERYONE),
    Action.ACCOUNT_TOKEN: Rule(EVERYONE),
    Action.ACCOUNT_LOGOUT: Rule(SIGNED_IN),
    Action.ACCOUNT_READ: Rule(SIGNED_IN),
    Action.ACCOUNT_ORG_CREATE: Rule(SIGNED_IN),
    Action.ACCOUNT_ORG_LIST: Rule(SIGNED_IN),
    Action.PLATFORM_ACCESS: Rule(OPERATORS),
    Action.PLATFORM_ORG_READ: Rule(OPERATORS),
    Action.PLATFORM_ORG_CREATE: Rule(OPERATORS),
    Action.PLATFORM_ORG_UPDATE: Rule(OPERATORS),
    Action.PLATFORM_ORG_SUSPEND: Rule(OPERATORS),
    Action.PLATFORM_ORG_DELETE: Rule(OPERATORS),
    Action.ORG_READ: Rule(ALL_ROLES),
    Action.ORG_UPDATE: Rule(MANAGERS),
    Action.MEMBER_READ: Rule(ALL_ROLES),
    Action.MEMBER_CHANGE_ROLE: Rule(MANAGERS),  # + may_change_member on the target
    Action.MEMBER_REMOVE: Rule(MANAGERS, unless=is_self),  # a member may leave
    Action.INVITE_READ: Rule(MANAGERS),
    Action.INVITE_CREATE: Rule(MANAGERS),  # + may_invite on the invited role
    Action.INVITE_REVOKE: Rule(MANAGERS),
    Action.INVITE_ACCEPT: Rule(SIGNED_IN),  # + the invite's email (the service)
    Action.BOARD_READ: Rule(ALL_ROLES),
    Action.BOARD_CREATE: Rule(MANAGERS),
    Action.BOARD_UPDATE: Rule(MANAGERS),
    Action.BOARD_DELETE: Rule(MANAGERS),
    Action.LIST_CREATE: Rule(MANAGERS),
    Action.LIST_UPDATE: Rule(MANAGERS),
    Action.LIST_DELETE: Rule(MANAGERS),
    Action.TASK_READ: Rule(ALL_ROLES),
    Action.TASK_CREATE: Rule(ALL_ROLES),
    Action.TASK_UPDATE: Rule(MANAGERS, unless=is_task_creator_or_assignee),
    Action.TASK_DELETE: Rule(MANAGERS, unless=is_task_creator),
    Action.COMMENT_READ: Rule(ALL_ROLES),
    Action.COMMENT_CREATE: Rule(ALL_ROLES),
    Action.COMMENT_UPDATE: Rule(frozenset(), unless=is_comment_author),  # author only
    Action.COMMENT_DELETE: Rule(MANAGERS, unless=is_comment_author),
    Action.AUDIT_READ: Rule(MANAGERS),
    Action.TOKEN_READ: Rule(ALL_ROLES),
    Action.TOKEN_READ_ALL: Rule(MANAGERS),
    Action.TOKEN_CREATE: Rule(ALL_ROLES),
    Action.TOKEN_REVOKE: Rule(MANAGERS, unless=is_token_owner),  # own tokens; managers any
}

# The scope an API token needs for each action of an organization host; an
# action missing here is never allowed to a token (creating tokens, accepting
# invites, the root host's actions). A person's JWT has no scopes: the role decides.
SCOPE_OF: dict[Action, Scope] = {
    **{
        action: Scope.READ
        for action in (
            Action.ORG_READ,
            Action.MEMBER_READ,
            Action.INVITE_READ,
            Action.BOARD_READ,
            Action.TASK_READ,
            Action.COMMENT_READ,
            Action.TOKEN_READ,
            Action.TOKEN_READ_ALL,
        )
    },
    **{
        action: Scope.WRITE
        for action in (
            Action.TASK_CREATE,
            Action.TASK_UPDATE,
            Action.TASK_DELETE,
            Action.COMMENT_CREATE,
            Action.COMMENT_UPDATE,
            Action.COMMENT_DELETE,
        )
    },
    **{
        action: Scope.MANAGE
        for action in (
            Action.ORG_UPDATE,
            Action.MEMBER_CHANGE_ROLE,
            Action.MEMBER_REMOVE,
            Action.INVITE_CREATE,
            Action.INVITE_REVOKE,
            Action.BOARD_CREATE,
            Action.BOARD_UPDATE,
            Action.BOARD_DELETE,
            Action.LIST_CREATE,
            Action.LIST_UPDATE,
            Action.LIST_DELETE,
            Action.TOKEN_REVOKE,
        )
    },
    Action.AUDIT_READ: Scope.AUDIT,
}


def within_scopes(actor: Any, action: Action) -> bool:
    """A person's call (no scopes) always; an API token's only if one of its
    scopes covers the action."""
    scopes = getattr(actor, "scopes", None)
    if scopes is None:
        return True
    needed = SCOPE_OF.get(action)
    return needed is not None and needed in scopes


def principals(actor: Any) -> frozenset[str]:
    """What `actor` counts as: a member's role (platform_core.auth.Actor), or
    for a user (AuthUser, a Django User, None for no credentials) ANYONE,
    USER when signed in, OPERATOR when also active and `is_staff`."""
    role = getattr(actor, "role", None)
    if role is not None:
        return frozenset({role})
    if actor is None or not getattr(actor, "is_authenticated", False):
        return frozenset({ANYONE})
    if getattr(actor, "is_staff", False) and getattr(actor, "is_active", True):
        return frozenset({ANYONE, USER, OPERATOR})
    return frozenset({ANYONE, USER})


# The actions authorized during the current handler call (see `requires`).
_authorized: contextvars.ContextVar[list[Action] | None] = contextvars.ContextVar("authorized", default=None)


def can(actor: Any, action: Action, obj: Any = None) -> bool:
    rule = MATRIX[action]
    if not within_scopes(actor, action):
        return False
    if principals(actor) & rule.roles:
        return True
    return rule.unless is not None and obj is not None and rule.unless(actor, obj)


def authorize(actor: Any, action: Action, obj: Any = None) -> None:
    if not within_scopes(actor, action):
        raise Forbidden("This API token's scopes do not allow this.", code="insufficient_scope")
    if not can(actor, action, obj):
        raise Forbidden(denied_message(action.value))
    granted = _authorized.get()
    if granted is not None:
        granted.append(action)


_View = TypeVar("_View", bound=Callable[..., Any])


def requires(action: Action, *, per_object: bool = False) -> Callable[[_View], _View]:
    """Name the handler's action. The caller is `request.auth` (the member on
    organization hosts, the user on the root host, None without credentials).

    Default: authorize before the handler runs. `per_object=True`: the handler
    (or the service it calls) authorizes against the object it looked up; a
    handler that returns without having done so is a bug and fails loudly.
    """

    def decorate(view: _View) -> _View:
        @functools.wraps(view)
        def handler(request: Any, *args: Any, **kwargs: Any) -> Any:
            granted: list[Action] = []
            token = _authorized.set(granted)
            try:
                if not per_object:
                    authorize(getattr(request, "auth", None), action)
                result = view(request, *args, **kwargs)
            finally:
                _authorized.reset(token)
            if action not in granted:
                raise RuntimeError(f"{view.__qualname__} returned without authorizing {action}")
            return result

        handler.action = action  # type: ignore[attr-defined]
        return cast(_View, handler)

    return decorate


# --- rules that depend on more than the action ---------------------------------------


def may_invite(inviter_role: str | None, role: str) -> bool:
    """May a member with `inviter_role` invite (make) someone `role`?

    Managers invite; only an owner may invite an owner. Also re-checked when
    an invite is accepted, and when the inviter's role changes or they leave:
    their pending invites that fail it are revoked.
    """
    return inviter_role in MATRIX[Action.INVITE_CREATE].roles and may_grant(inviter_role, role)


def may_grant(granter_role: str | None, role: str | None) -> bool:
    """Only an owner makes someone an owner (by invite or role change)."""
    return role != Role.OWNER or granter_role == Role.OWNER


def may_change_member(actor: Any, target: Any, new_role: str | None = None) -> str | None:
    """None if `actor` may change `target`'s role to `new_role` (None: remove),
    else why not. Past MEMBER_CHANGE_ROLE / MEMBER_REMOVE of the matrix:
    owners may change or remove anyone and make owners; admins change or remove
    admins and members, never owners, and make no owners; anyone may leave."""
    if actor.role == Role.OWNER or (is_self(actor, target) and new_role is None):
        return None
    if target.role == Role.OWNER:
        return "Only an owner may change or remove an owner."
    if not may_grant(actor.role, new_role):
        return "Only an owner may make someone an owner."
    return None


def check_member_change(actor: Any, target: Any, new_role: str | None = None) -> None:
    """The matrix on a role change (new_role given) or a removal: 403 if refused.
    The last-owner rule (409, `leaves_no_owner`) is the service's: it needs a locked count."""
    action = Action.MEMBER_REMOVE if new_role is None else Action.MEMBER_CHANGE_ROLE
    authorize(actor, action, target)
    refusal = may_change_member(actor, target, new_role)
    if refusal:
        raise Forbidden(refusal)


def leaves_no_owner(*, role: str, new_role: str | None, owners: int) -> bool:
    """Would changing a member of `role` to `new_role` (None: removing them)
    leave the organization with no owner, given `owners` owners now?"""
    return role == Role.OWNER and new_role != Role.OWNER and owners <= 1


def is_operator(user: Any) -> bool:
    """An operator of the platform (the Django admin, /platform/...)."""
    return can(user, Action.PLATFORM_ACCESS)
