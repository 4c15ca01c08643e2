"""Tasks: create, update, assign, complete, reopen, move, delete."""

from datetime import datetime
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from platform_core.auth import Actor
from platform_core.errors import Conflict, InvalidInput
from tenant_apps.audit.services import diff, snapshot
from tenant_apps.boards.models import Task, TaskList, TaskStatus
from tenant_apps.boards.services._common import (
    UNSET,
    delete_recorded,
    ensure_member,
    given,
    lock_lists,
    lock_task,
    place,
    record,
    record_created,
)

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
    ensure_member(actor, assignee_id)
    task_list = lock_lists(task_list.id)[task_list.id]
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
    task.position, task.rank = place(  # type: ignore[attr-defined]  # position: set by the selectors, not a column
        task_list.tasks.all(),
        task,
        position,
        capacity=settings.MAX_TASKS_PER_LIST,
        noun="tasks per list",
    )
    task.save()
    record_created(actor, "task.created", task, TASK_FIELDS, boards=[task.board_id])
    return task


def _task_change(*, actor: Actor, task: Task, action: str, **fields: Any) -> Task:
    """Set `fields` on the locked task; one event with the diff, none if nothing changed."""
    before = snapshot(task, TASK_FIELDS)
    changed = [name for name, value in fields.items() if getattr(task, name) != value]
    if not changed:
        return task
    for name in changed:
        setattr(task, name, fields[name])
    task.updated_at = timezone.now()
    task.save(update_fields=[*changed, "updated_at"])
    record(actor, action, task, diff(before, snapshot(task, TASK_FIELDS)), boards=[task.board_id])
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
    fields = given(title=title, description=description, priority=priority, due_at=due_at)
    return _task_change(actor=actor, task=lock_task(task.id), action="task.updated", **fields)


@transaction.atomic
def task_assign(*, actor: Actor, task: Task, assignee_id: UUID | None) -> Task:
    """Assign to a member of this organization (422 otherwise); None unassigns."""
    ensure_member(actor, assignee_id)
    return _task_change(
        actor=actor, task=lock_task(task.id), action="task.assigned", assignee_id=assignee_id
    )


@transaction.atomic
def task_complete(*, actor: Actor, task: Task) -> Task:
    """Status `done` with `completed_at`. Idempotent: a done task keeps its
    `completed_at` and no event is written."""
    task = lock_task(task.id)
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
    task = lock_task(task.id)
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
    lists = lock_lists(task.list_id, to_list.id)
    task = lock_task(task.id)
    if task.list_id not in lists:
        raise Conflict("The task was moved meanwhile; try again.", code="stale_write")
    to_list = lists[to_list.id]
    before = snapshot(task, TASK_FIELDS)
    from_board = task.board_id
    index, rank = place(
        to_list.tasks.all(),
        task,
        position,
        # a move within the list adds nothing; one into another list must fit
        capacity=None if task.list_id == to_list.id else settings.MAX_TASKS_PER_LIST,
        noun="tasks per list",
    )
    if task.list_id == to_list.id and index == task.position:  # type: ignore[attr-defined]  # position: set by the selectors, not a column
        return task
    task.list, task.rank, task.position = to_list, rank, index  # type: ignore[attr-defined]  # position: set by the selectors, not a column
    task.updated_at = timezone.now()
    task.save(update_fields=["list", "rank", "updated_at"])
    record(
        actor,
        "task.moved",
        task,
        diff(before, snapshot(task, TASK_FIELDS)),
        boards=[from_board, task.board_id],
    )
    return task


@transaction.atomic
def task_delete(*, actor: Actor, task: Task) -> None:
    """Deletes the task and its comments."""
    task = lock_task(task.id)
    delete_recorded(actor, "task.deleted", task, TASK_FIELDS, boards=[task.board_id])
