"""Every write to boards, lists, tasks and comments.

Each service runs in one transaction with its audit event (`audit_record`,
always with the board id, which routes live updates). Permission checks are
the handlers' (`authorize`); services enforce the business rules: assignees
are members, moves stay on their board, order stays consistent.

A call that changes nothing (completing a done task, a PATCH with the
current values, moving a task to where it is) returns the object unchanged
and writes no audit event: events record changes, not requests.

Locks, always taken in this order, so concurrent writers queue instead of
deadlocking: the board row (list order), then list rows sorted by id (task
order), then the task row. Rows read from a handler may come from the query
cache; services re-read what they change under a lock.
"""

from datetime import datetime
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from platform_core.auth import Actor
from platform_core.errors import Conflict, Forbidden, InvalidInput, NotFound
from shared_apps.orgs.selectors import is_member
from tenant_apps.audit.services import audit_record, diff, snapshot
from tenant_apps.boards import ranking
from tenant_apps.boards.models import Board, Comment, Task, TaskList, TaskStatus
from tenant_apps.boards.selectors import lists_with_position, tasks_with_position


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()  # "not in the request": unchanged

BOARD_FIELDS = ("name", "description")
LIST_FIELDS = ("board_id", "name", "position")
TASK_FIELDS = (
    "list_id",
    "title",
    "description",
    "status",
    "priority",
    "assignee_id",
    "due_at",
    "completed_at",
    "position",
)
COMMENT_FIELDS = ("task_id", "body")


def _given(**fields) -> dict:
    return {name: value for name, value in fields.items() if value is not UNSET}


def _ensure_member(actor: Actor, user_id: UUID | None) -> None:
    if user_id is not None and not is_member(org_id=actor.org_id, user_id=user_id):
        raise InvalidInput(
            "The assignee is not a member of this organization.", loc=["body", "assignee_id"]
        )


def _place(siblings, item, position: int | None, *, capacity: int | None = None, noun: str = ""):
    """ranking.place; a full container (checked under the caller's lock on it,
    so concurrent creates cannot overshoot) is 403 quota_exceeded."""
    try:
        return ranking.place(siblings, item, position, capacity=capacity)
    except ranking.Full as full:
        raise Forbidden(
            f"Limit reached: at most {full.capacity} {noun}.", code="quota_exceeded"
        ) from None


def _lock_board(board_id: UUID) -> Board:
    board = Board.objects.select_for_update().filter(id=board_id).first()
    if board is None:
        raise NotFound("No such board.")
    return board


def _lock_lists(*list_ids: UUID) -> dict[UUID, TaskList]:
    """Lock lists in id order (the global lock order); NotFound if one is gone."""
    ids = set(list_ids)
    locked = {
        tl.id: tl for tl in TaskList.objects.select_for_update().filter(id__in=ids).order_by("id")
    }
    if len(locked) != len(ids):
        raise NotFound("No such list.")
    return locked


def _lock_task(task_id: UUID) -> Task:
    task = tasks_with_position().select_for_update(of=("self",)).filter(id=task_id).first()
    if task is None:
        raise NotFound("No such task.")
    return task


def _lock_list_positioned(list_id: UUID) -> TaskList:
    task_list = lists_with_position().select_for_update(of=("self",)).filter(id=list_id).first()
    if task_list is None:
        raise NotFound("No such list.")
    return task_list


# --- boards -----------------------------------------------------------------------


@transaction.atomic
def board_create(*, actor: Actor, name: str, description: str = "") -> Board:
    board = Board.objects.create(name=name, description=description, created_by=actor.user_id)
    audit_record(
        actor_id=actor.user_id,
        action="board.created",
        target_type="board",
        target_id=board.id,
        changes=diff({}, snapshot(board, BOARD_FIELDS)),
        board_id=board.id,
    )
    return board


@transaction.atomic
def board_update(
    *, actor: Actor, board: Board, name: str = UNSET, description: str = UNSET
) -> Board:
    board = _lock_board(board.id)
    before = snapshot(board, BOARD_FIELDS)
    changes = diff(before, {**before, **_given(name=name, description=description)})
    if not changes:
        return board
    for field, change in changes.items():
        setattr(board, field, change["to"])
    board.updated_at = timezone.now()
    board.save(update_fields=[*changes, "updated_at"])
    audit_record(
        actor_id=actor.user_id,
        action="board.updated",
        target_type="board",
        target_id=board.id,
        changes=changes,
        board_id=board.id,
    )
    return board


@transaction.atomic
def board_delete(*, actor: Actor, board: Board) -> None:
    """Deletes the board with its lists, tasks and their comments."""
    board = _lock_board(board.id)
    before = snapshot(board, BOARD_FIELDS)
    board_id = board.id
    board.delete()
    audit_record(
        actor_id=actor.user_id,
        action="board.deleted",
        target_type="board",
        target_id=board_id,
        changes=diff(before, {}),
        board_id=board_id,
    )


# --- lists ------------------------------------------------------------------------


@transaction.atomic
def list_create(*, actor: Actor, board: Board, name: str, position: int | None = None) -> TaskList:
    """A new list at `position` (0-based, clamped; default: the end) of the board."""
    board = _lock_board(board.id)
    task_list = TaskList(board=board, name=name)
    task_list.position, task_list.rank = _place(
        board.lists.all(),
        task_list,
        position,
        capacity=settings.MAX_LISTS_PER_BOARD,
        noun="lists per board",
    )
    task_list.save()
    audit_record(
        actor_id=actor.user_id,
        action="list.created",
        target_type="list",
        target_id=task_list.id,
        changes=diff({}, snapshot(task_list, LIST_FIELDS)),
        board_id=board.id,
    )
    return task_list


@transaction.atomic
def list_update(
    *, actor: Actor, task_list: TaskList, name: str = UNSET, position: int | None = UNSET
) -> TaskList:
    """Rename and/or move the list to `position` in its board (one event for both)."""
    board = _lock_board(task_list.board_id)
    task_list = _lock_list_positioned(task_list.id)
    before = snapshot(task_list, LIST_FIELDS)
    update_fields = []
    if name is not UNSET and name != task_list.name:
        task_list.name = name
        update_fields.append("name")
    if position is not UNSET and position is not None:
        # The list sits between its neighbours' ranks: staying put never renumbers.
        index, rank = ranking.place(board.lists.all(), task_list, position)
        if index != task_list.position:
            task_list.position, task_list.rank = index, rank
            update_fields.append("rank")
    if not update_fields:
        return task_list
    task_list.updated_at = timezone.now()
    task_list.save(update_fields=[*update_fields, "updated_at"])
    audit_record(
        actor_id=actor.user_id,
        action="list.updated",
        target_type="list",
        target_id=task_list.id,
        changes=diff(before, snapshot(task_list, LIST_FIELDS)),
        board_id=task_list.board_id,
    )
    return task_list


@transaction.atomic
def list_delete(*, actor: Actor, task_list: TaskList) -> None:
    """Deletes the list with its tasks and their comments."""
    _lock_board(task_list.board_id)
    task_list = _lock_list_positioned(task_list.id)
    before = snapshot(task_list, LIST_FIELDS)
    list_id, board_id = task_list.id, task_list.board_id
    task_list.delete()
    audit_record(
        actor_id=actor.user_id,
        action="list.deleted",
        target_type="list",
        target_id=list_id,
        changes=diff(before, {}),
        board_id=board_id,
    )


# --- tasks ------------------------------------------------------------------------


@transaction.atomic
def task_create(
    *,
    actor: Actor,
    task_list: TaskList,
    title: str,
    description: str = "",
    assignee_id: UUID | None = None,
    priority: str = "medium",
    due_at: datetime | None = None,
    position: int | None = None,
) -> Task:
    """A new open task created by the actor, at `position` of the list (0-based, clamped; default: the end)."""
    _ensure_member(actor, assignee_id)
    task_list = _lock_lists(task_list.id)[task_list.id]
    task = Task(
        board_id=task_list.board_id,
        list=task_list,
        title=title,
        description=description,
        assignee_id=assignee_id,
        priority=priority,
        due_at=due_at,
        created_by=actor.user_id,
    )
    task.position, task.rank = _place(
        task_list.tasks.all(),
        task,
        position,
        capacity=settings.MAX_TASKS_PER_LIST,
        noun="tasks per list",
    )
    task.save()
    audit_record(
        actor_id=actor.user_id,
        action="task.created",
        target_type="task",
        target_id=task.id,
        changes=diff({}, snapshot(task, TASK_FIELDS)),
        board_id=task.board_id,
    )
    return task


def _task_change(*, actor: Actor, task: Task, action: str, **fields) -> Task:
    """Set `fields` on the locked task; one event with the diff, none if nothing changed."""
    before = snapshot(task, TASK_FIELDS)
    changed = [name for name, value in fields.items() if getattr(task, name) != value]
    if not changed:
        return task
    for name in changed:
        setattr(task, name, fields[name])
    task.updated_at = timezone.now()
    task.save(update_fields=[*changed, "updated_at"])
    audit_record(
        actor_id=actor.user_id,
        action=action,
        target_type="task",
        target_id=task.id,
        changes=diff(before, snapshot(task, TASK_FIELDS)),
        board_id=task.board_id,
    )
    return task


@transaction.atomic
def task_update(
    *,
    actor: Actor,
    task: Task,
    title: str = UNSET,
    description: str = UNSET,
    priority: str = UNSET,
    due_at: datetime | None = UNSET,
) -> Task:
    """Change the given fields (`due_at=None` clears the due date)."""
    fields = _given(title=title, description=description, priority=priority, due_at=due_at)
    return _task_change(actor=actor, task=_lock_task(task.id), action="task.updated", **fields)


@transaction.atomic
def task_assign(*, actor: Actor, task: Task, assignee_id: UUID | None) -> Task:
    """Assign to a member of this organization (422 otherwise); None unassigns."""
    _ensure_member(actor, assignee_id)
    return _task_change(
        actor=actor, task=_lock_task(task.id), action="task.assigned", assignee_id=assignee_id
    )


@transaction.atomic
def task_complete(*, actor: Actor, task: Task) -> Task:
    """Status `done` with `completed_at`. Idempotent: a done task keeps its
    `completed_at` and no event is written."""
    task = _lock_task(task.id)
    if task.status == TaskStatus.DONE:
        return task
    return _task_change(
        actor=actor,
        task=task,
        action="task.completed",
        status=TaskStatus.DONE,
        completed_at=timezone.now(),
    )


@transaction.atomic
def task_reopen(*, actor: Actor, task: Task) -> Task:
    """Back to `open`, `completed_at` cleared. Idempotent like task_complete."""
    task = _lock_task(task.id)
    if task.status == TaskStatus.OPEN:
        return task
    return _task_change(
        actor=actor, task=task, action="task.reopened", status=TaskStatus.OPEN, completed_at=None
    )


@transaction.atomic
def task_move(*, actor: Actor, task: Task, to_list: TaskList, position: int | None = None) -> Task:
    """Move to `position` (0-based, clamped; default: the end) of `to_list`, a
    list of the same board (422 otherwise). Within one list, `position` is the
    index after the move. Writes one row unless a window of the list must be
    renumbered (tenant_apps.boards.ranking)."""
    if to_list.board_id != task.board_id:
        raise InvalidInput("The list belongs to another board.", loc=["body", "list_id"])
    lists = _lock_lists(task.list_id, to_list.id)
    task = _lock_task(task.id)
    if task.list_id not in lists:
        raise Conflict("The task was moved meanwhile; try again.", code="stale_write")
    to_list = lists[to_list.id]
    before = snapshot(task, TASK_FIELDS)
    index, rank = _place(
        to_list.tasks.all(),
        task,
        position,
        # a move within the list adds nothing; one into another list must fit
        capacity=None if task.list_id == to_list.id else settings.MAX_TASKS_PER_LIST,
        noun="tasks per list",
    )
    if task.list_id == to_list.id and index == task.position:
        return task
    task.list, task.rank, task.position = to_list, rank, index
    task.updated_at = timezone.now()
    task.save(update_fields=["list", "rank", "updated_at"])
    audit_record(
        actor_id=actor.user_id,
        action="task.moved",
        target_type="task",
        target_id=task.id,
        changes=diff(before, snapshot(task, TASK_FIELDS)),
        board_id=task.board_id,
    )
    return task


@transaction.atomic
def task_delete(*, actor: Actor, task: Task) -> None:
    """Deletes the task and its comments."""
    task = _lock_task(task.id)
    before = snapshot(task, TASK_FIELDS)
    task_id, board_id = task.id, task.board_id
    task.delete()
    audit_record(
        actor_id=actor.user_id,
        action="task.deleted",
        target_type="task",
        target_id=task_id,
        changes=diff(before, {}),
        board_id=board_id,
    )


# --- comments ---------------------------------------------------------------------


@transaction.atomic
def comment_create(*, actor: Actor, task: Task, body: str) -> Comment:
    # Keep the task from being deleted before this commits (its foreign key is checked then).
    if (
        Task.objects.select_for_update(no_key=True).filter(id=task.id).values_list("id").first()
        is None
    ):
        raise NotFound("No such task.")
    comment = Comment.objects.create(task=task, author_id=actor.user_id, body=body)
    audit_record(
        actor_id=actor.user_id,
        action="comment.created",
        target_type="comment",
        target_id=comment.id,
        changes=diff({}, snapshot(comment, COMMENT_FIELDS)),
        board_id=task.board_id,
    )
    return comment


def _lock_comment(comment_id: UUID) -> Comment:
    comment = (
        Comment.objects.select_for_update(of=("self",))
        .select_related("task")
        .filter(id=comment_id)
        .first()
    )
    if comment is None:
        raise NotFound("No such comment.")
    return comment


@transaction.atomic
def comment_update(*, actor: Actor, comment: Comment, body: str) -> Comment:
    comment = _lock_comment(comment.id)
    if comment.body == body:
        return comment
    before = snapshot(comment, COMMENT_FIELDS)
    comment.body = body
    comment.updated_at = timezone.now()
    comment.save(update_fields=["body", "updated_at"])
    audit_record(
        actor_id=actor.user_id,
        action="comment.updated",
        target_type="comment",
        target_id=comment.id,
        changes=diff(before, snapshot(comment, COMMENT_FIELDS)),
        board_id=comment.task.board_id,
    )
    return comment


@transaction.atomic
def comment_delete(*, actor: Actor, comment: Comment) -> None:
    comment = _lock_comment(comment.id)
    before = snapshot(comment, COMMENT_FIELDS)
    comment_id, board_id = comment.id, comment.task.board_id
    comment.delete()
    audit_record(
        actor_id=actor.user_id,
        action="comment.deleted",
        target_type="comment",
        target_id=comment_id,
        changes=diff(before, {}),
        board_id=board_id,
    )
