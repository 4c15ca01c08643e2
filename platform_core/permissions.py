"""The permission matrix of API.md, as data. Handlers name an Action; nothing else checks roles.

Each rule lists the roles that may always do the action, plus an optional
predicate that can allow the other roles for a given object (creator or
assignee of a task, author of a comment, leaving oneself, ...).
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from platform_core.errors import Forbidden

OWNER, ADMIN, MEMBER = "owner", "admin", "member"
ALL_ROLES = frozenset({OWNER, ADMIN, MEMBER})
MANAGERS = frozenset({OWNER, ADMIN})


class Action(StrEnum):
    ORG_READ = "org.read"
    ORG_UPDATE = "org.update"
    MEMBER_READ = "member.read"
    MEMBER_CHANGE_ROLE = "member.change_role"
    MEMBER_REMOVE = "member.remove"
    INVITE_READ = "invite.read"
    INVITE_CREATE = "invite.create"
    INVITE_REVOKE = "invite.revoke"
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


# --- object predicates: may a role outside `roles` still do it? --------------


def is_task_creator_or_assignee(actor, task) -> bool:
    return actor.user_id in (task.created_by, task.assignee_id)


def is_task_creator(actor, task) -> bool:
    return actor.user_id == task.created_by


def is_comment_author(actor, comment) -> bool:
    return actor.user_id == comment.author_id


def is_self(actor, membership) -> bool:
    return actor.user_id == membership.user_id


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    unless: Callable[[Any, Any], bool] | None = None  # grants others, per object


MATRIX: dict[Action, Rule] = {
    Action.ORG_READ: Rule(ALL_ROLES),
    Action.ORG_UPDATE: Rule(MANAGERS),
    Action.MEMBER_READ: Rule(ALL_ROLES),
    Action.MEMBER_CHANGE_ROLE: Rule(MANAGERS),  # + target rules in check_member_change
    Action.MEMBER_REMOVE: Rule(MANAGERS, unless=is_self),  # a member may leave
    Action.INVITE_READ: Rule(MANAGERS),
    Action.INVITE_CREATE: Rule(MANAGERS),
    Action.INVITE_REVOKE: Rule(MANAGERS),
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
}


def can(actor, action: Action, obj: Any = None) -> bool:
    rule = MATRIX[action]
    if actor.role in rule.roles:
        return True
    return rule.unless is not None and obj is not None and rule.unless(actor, obj)


def authorize(actor, action: Action, obj: Any = None) -> None:
    if not can(actor, action, obj):
        raise Forbidden(f"Your role may not {action.value.replace('.', ' ').replace('_', ' ')}.")


def may_invite(inviter_role: str | None, role: str) -> bool:
    """May a member with `inviter_role` invite (make) someone `role`?

    Managers invite; only an owner may invite an owner. Also re-checked when
    an invite is accepted, and when the inviter's role changes or they leave:
    their pending invites that fail it are revoked.
    """
    return inviter_role in MATRIX[Action.INVITE_CREATE].roles and (role != OWNER or inviter_role == OWNER)


def check_member_change(actor, target, new_role: str | None = None) -> None:
    """Role-change and removal rules that depend on the target member.

    owner: may change or remove anyone, and make owners.
    admin: may change or remove admins and members, never owners; may not make owners.
    member: may only remove themself (leave).
    The last-owner rule (409) is the service's: it needs a locked count.
    """
    action = Action.MEMBER_REMOVE if new_role is None else Action.MEMBER_CHANGE_ROLE
    authorize(actor, action, target)
    if actor.role == OWNER or is_self(actor, target) and new_role is None:
        return
    if target.role == OWNER:
        raise Forbidden("Only an owner may change or remove an owner.")
    if new_role == OWNER:
        raise Forbidden("Only an owner may make someone an owner.")
