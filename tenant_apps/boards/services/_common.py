"""Helpers shared by the boards services: unset arguments, member checks,
placement, and the row locks (always taken in the order the package doc gives)."""

from collections.abc import Iterable
from typing import Any, TypeVar
from uuid import UUID

from django.db import connection
from django.db.models import Field, Model

from platform_core.auth import Actor
from platform_core.errors import Forbidden, InvalidInput, NotFound
from shared_apps.orgs.selectors import is_member
from tenant_apps.audit.models import AuditEvent
from tenant_apps.audit.services import audit_record, diff, snapshot
from tenant_apps.boards import ranking
from tenant_apps.boards.effects import boards_changed
from tenant_apps.boards.models import Board, Task, TaskList
from tenant_apps.boards.selectors import lists_with_position, tasks_with_position

M = TypeVar("M", bound=Model)


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
    model: type[Model],
    container: str,
    container_id: UUID,
    item_id: UUID,
    position: int | None,
    *,
    capacity: int | None = None,
    noun: str = "",
) -> tuple[int, int]:
    """ranking.place; a full container (checked under the caller's lock on it,
    so concurrent creates cannot overshoot) is 403 quota_exceeded."""
    try:
        return ranking.place(model, container, container_id, item_id, position, capacity=capacity)
    except ranking.Full as full:
        raise full_container(full.capacity, noun) from None


def full_container(capacity: int, noun: str) -> Forbidden:
    return Forbidden(f"Limit reached: at most {capacity} {noun}.", code="quota_exceeded")


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


# --- raw statements (the hot writes: no ORM compilation, no query cache) --------------


def fetch(model: type[M], sql: str, params: list[Any]) -> list[M]:
    """Instances of `model` from a raw SELECT whose columns are the model's
    concrete fields in order, optionally followed by extra columns set as
    attributes (`annotations`, in order)."""
    return fetch_annotated(model, sql, params, ())


def fetch_annotated(model: type[M], sql: str, params: list[Any], annotations: tuple[str, ...]) -> list[M]:
    names = [f.attname for f in model._meta.concrete_fields]
    count = len(names)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    out = []
    for row in rows:
        obj = model.from_db(connection.alias, names, row[:count])
        for name, value in zip(annotations, row[count:], strict=True):
            setattr(obj, name, value)
        out.append(obj)
    return out


def columns_sql(model: type[Model], alias: str = "") -> str:
    """The model's concrete columns, quoted, in field order (`alias.` before each)."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(f'{prefix}"{f.column}"' for f in model._meta.concrete_fields)


def concrete_field(model: type[Model], attname: str) -> "Field[Any, Any]":
    """The model's column field named `attname` (`list_id`, not `list`)."""
    return next(f for f in model._meta.concrete_fields if f.attname == attname)


def db_value(obj: Model, attname: str) -> Any:
    """The value of `obj`'s field as the ORM would send it to the database."""
    field = concrete_field(type(obj), attname)
    return field.get_db_prep_save(getattr(obj, attname), connection)


def insert_select(obj: Model, exprs: dict[str, tuple[str, list[Any]]]) -> tuple[str, list[Any]]:
    """`INSERT INTO <table> (<columns>) SELECT <values>` for `obj`, without its
    FROM: each value is a parameter (db_value) unless `exprs` gives the field's
    SQL and its parameters."""
    values: list[str] = []
    params: list[Any] = []
    for f in obj._meta.concrete_fields:
        if f.attname in exprs:
            sql, more = exprs[f.attname]
            values.append(sql)
            params.extend(more)
        else:
            values.append("%s")
            params.append(f.get_db_prep_save(getattr(obj, f.attname), connection))
    table = obj._meta.db_table
    return f'INSERT INTO "{table}" ({columns_sql(type(obj))}) SELECT {", ".join(values)}', params


def saved(obj: M) -> M:
    """Mark an instance written by raw SQL as loaded from the database."""
    obj._state.adding = False
    obj._state.db = connection.alias
    return obj
