"""Lists: create, rename and reorder, delete (with their tasks)."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from platform_core.auth import Actor
from tenant_apps.audit.services import diff, snapshot
from tenant_apps.boards import ranking
from tenant_apps.boards.models import Board, TaskList
from tenant_apps.boards.services._common import (
    UNSET,
    delete_recorded,
    lock_board,
    lock_list_positioned,
    place,
    record,
    record_created,
)

LIST_FIELDS = ("board_id", "name", "position")


@transaction.atomic
def list_create(*, actor: Actor, board: Board, name: str, position: int | None = None) -> TaskList:
    """A new list at `position` (0-based, clamped; default: the end) of the board."""
    board = lock_board(board.id)
    task_list = TaskList(board=board, name=name)
    task_list.position, task_list.rank = place(  # type: ignore[attr-defined]  # position: set by the selectors, not a column
        TaskList,
        "board_id",
        board.id,
        task_list.id,
        position,
        capacity=settings.MAX_LISTS_PER_BOARD,
        noun="lists per board",
    )
    task_list.save()
    record_created(actor, "list.created", task_list, LIST_FIELDS, boards=[task_list.board_id])
    return task_list


@transaction.atomic
def list_update(
    *, actor: Actor, task_list: TaskList, name: str = UNSET, position: int | None = UNSET
) -> TaskList:
    """Rename and/or move the list to `position` in its board (one event for both)."""
    board = lock_board(task_list.board_id)
    task_list = lock_list_positioned(task_list.id)
    before = snapshot(task_list, LIST_FIELDS)
    update_fields = []
    if name is not UNSET and name != task_list.name:
        task_list.name = name
        update_fields.append("name")
    if position is not UNSET and position is not None:
        # The list sits between its neighbours' ranks: staying put never renumbers.
        index, rank = ranking.place(TaskList, "board_id", board.id, task_list.id, position)
        if index != task_list.position:  # type: ignore[attr-defined]  # position: set by the selectors, not a column
            task_list.position, task_list.rank = index, rank  # type: ignore[attr-defined]  # position: set by the selectors, not a column
            update_fields.append("rank")
    if not update_fields:
        return task_list
    task_list.updated_at = timezone.now()
    task_list.save(update_fields=[*update_fields, "updated_at"])
    record(
        actor,
        "list.updated",
        task_list,
        diff(before, snapshot(task_list, LIST_FIELDS)),
        boards=[task_list.board_id],
    )
    return task_list


@transaction.atomic
def list_delete(*, actor: Actor, task_list: TaskList) -> None:
    """Deletes the list with its tasks and their comments."""
    lock_board(task_list.board_id)
    task_list = lock_list_positioned(task_list.id)
    delete_recorded(actor, "list.deleted", task_list, LIST_FIELDS, boards=[task_list.board_id])
