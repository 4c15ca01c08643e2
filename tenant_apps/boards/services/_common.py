"""Helpers shared by the boards services: unset arguments, member checks,
placement, and the row locks (always taken in the order the package doc gives)."""

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from django.db import connection
from django.db.models import Model, QuerySet

from platform_core.auth import Actor
from platform_core.errors import Forbidden, InvalidInput, NotFound
from shared_apps.orgs.selectors import is_member
from tenant_apps.audit.models import AuditEvent
from tenant_apps.audit.services import audit_record, diff, snapshot
from tenant_apps.boards import ranking
from tenant_apps.boards.effects import boards_changed
from tenant_apps.boards.models import Board, Task, TaskList
from tenant_apps.boards.selectors import lists_with_position, tasks_with_position


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()  # "not in the request": unchanged


def given(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not UNSET}


def ensure_member(actor: Actor, user_id: UUID | None) -> None:
    if user_id is not None and not is_member(org_id=actor.org_id, user_id=user_id):
        raise InvalidInput(
            "The assignee is not a member of this organization.", loc=["body", "assignee_id"]
        )


def place(
    siblings: QuerySet[Any], item: Model, position: int | None, *, capacity: int | None = None, noun: str = ""
) -> tuple[int, int]:
    """ranking.place; a full container (checked under the caller's lock on it,
    so concurrent creates cannot overshoot) is 403 quota_exceeded."""
    try:
        return ranking.place(siblings, item, position, capacity=capacity)
    except ranking.Full as full:
        raise Forbidden(
            f"Limit reached: at most {full.capacity} {noun}.", code="quota_exceeded"
        ) from None


def record(
    actor: Actor, action: str, target: Any, changes: dict[str, Any], *, boards: Iterable[UUID]
) -> AuditEvent:
    """The write's audit event (audit_record derives the target's type and id),
    then its side effects, scheduled after commit on every board in `boards`
    (tenant_apps.boards.effects.boards_changed). Before a delete: call it first."""
    event = audit_record(actor=actor, action=action, target=target, changes=changes)
    boards_changed(connection.schema_name, boards, event)  # type: ignore[attr-defined]  # django-tenants
    return event


def record_created(
    actor: Actor, action: str, obj: Any, fields: tuple[str, ...] | list[str], *, boards: Iterable[UUID]
) -> None:
    """record() for a new object: its audited `fields` as the changes."""
    record(actor, action, obj, diff({}, snapshot(obj, fields)), boards=boards)


def delete_recorded(
    actor: Actor, action: str, obj: Any, fields: tuple[str, ...] | list[str], *, boards: Iterable[UUID]
) -> None:
    """record() the deletion of `obj` (its audited `fields` as they were), then delete it."""
    record(actor, action, obj, diff(snapshot(obj, fields), {}), boards=boards)
    obj.delete()


def lock_board(board_id: UUID) -> Board:
    board = Board.objects.select_for_update().filter(id=board_id).first()
    if board is None:
        raise NotFound("No such board.")
    return board


def lock_lists(*list_ids: UUID) -> dict[UUID, TaskList]:
    """Lock lists in id order (the global lock order); NotFound if one is gone."""
    ids = set(list_ids)
    locked = {
        tl.id: tl for tl in TaskList.objects.select_for_update().filter(id__in=ids).order_by("id")
    }
    if len(locked) != len(ids):
        raise NotFound("No such list.")
    return locked


def lock_task(task_id: UUID) -> Task:
    task = tasks_with_position().select_for_update(of=("self",)).filter(id=task_id).first()
    if task is None:
        raise NotFound("No such task.")
    return task


def lock_list_positioned(list_id: UUID) -> TaskList:
    task_list = lists_with_position().select_for_update(of=("self",)).filter(id=list_id).first()
    if task_list is None:
        raise NotFound("No such list.")
    return task_list
