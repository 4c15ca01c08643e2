"""Every write to boards, lists, tasks and comments.

Each service runs in one transaction with its audit event (`audit_record`,
which derives the target's type, id and board from the instance) and
schedules its side effects explicitly: `effects.boards_changed` names every
board the write touched (their rendered detail is retired and their live
subscribers hear the event, after commit). Permission checks are
the handlers' (`authorize`), except for the task writes that take ids
(create, update, assign, complete, reopen, move): there the service looks the
row up with its lock, raises the access helpers' NotFound, and authorizes on
the locked row, so the row is read once. Services enforce the business rules:
assignees are members, moves stay on their board, order stays consistent.

A call that changes nothing (completing a done task, a PATCH with the
current values, moving a task to where it is) returns the object unchanged
and writes no audit event: events record changes, not requests.

Locks, always taken in this order, so concurrent writers queue instead of
deadlocking: the board row (list order), then list rows sorted by id (task
order), then the task row. Nothing here reads through the query cache
(cacheops): services read what they change under a lock, from PostgreSQL.
The hot task writes are raw statements (`tasks`): the placement, the row
and its audit event in one statement; rows cacheops cannot see written are
invalidated after commit (`ranking.forget`).

One module per entity (boards, lists, tasks, comments); the shared helpers
and locks are in `_common`. This package re-exports the public names.
"""

from tenant_apps.boards.services._common import UNSET
from tenant_apps.boards.services.boards import (
    BOARD_FIELDS,
    board_create,
    board_delete,
    board_update,
)
from tenant_apps.boards.services.comments import (
    COMMENT_FIELDS,
    comment_create,
    comment_delete,
    comment_update,
)
from tenant_apps.boards.services.lists import LIST_FIELDS, list_create, list_delete, list_update
from tenant_apps.boards.services.tasks import (
    TASK_FIELDS,
    task_assign,
    task_complete,
    task_create,
    task_delete,
    task_move,
    task_reopen,
    task_update,
)

__all__ = [
    "BOARD_FIELDS",
    "COMMENT_FIELDS",
    "LIST_FIELDS",
    "TASK_FIELDS",
    "UNSET",
    "board_create",
    "board_delete",
    "board_update",
    "comment_create",
    "comment_delete",
    "comment_update",
    "list_create",
    "list_delete",
    "list_update",
    "task_assign",
    "task_complete",
    "task_create",
    "task_delete",
    "task_move",
    "task_reopen",
    "task_update",
]
