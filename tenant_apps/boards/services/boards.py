"""Boards: create, update, delete (with everything on them)."""

from django.db import transaction
from django.utils import timezone

from platform_core.auth import Actor
from tenant_apps.audit.services import diff, snapshot
from tenant_apps.boards.models import Board
from tenant_apps.boards.services._common import (
    UNSET,
    delete_recorded,
    given,
    lock_board,
    record,
    record_created,
)

BOARD_FIELDS = ("name", "description")


@transaction.atomic
def board_create(*, actor: Actor, name: str, description: str = "") -> Board:
    board = Board.objects.create(name=name, description=description, created_by=actor.user_id)
    record_created(actor, "board.created", board, BOARD_FIELDS, boards=[board.id])
    return board


@transaction.atomic
def board_update(
    *, actor: Actor, board: Board, name: str = UNSET, description: str = UNSET
) -> Board:
    board = lock_board(board.id)
    before = snapshot(board, BOARD_FIELDS)
    changes = diff(before, {**before, **given(name=name, description=description)})
    if not changes:
        return board
    for field, change in changes.items():
        setattr(board, field, change["to"])
    board.updated_at = timezone.now()
    board.save(update_fields=[*changes, "updated_at"])
    record(actor, "board.updated", board, changes, boards=[board.id])
    return board


@transaction.atomic
def board_delete(*, actor: Actor, board: Board) -> None:
    """Deletes the board with its lists, tasks and their comments."""
    board = lock_board(board.id)
    delete_recorded(actor, "board.deleted", board, BOARD_FIELDS, boards=[board.id])
