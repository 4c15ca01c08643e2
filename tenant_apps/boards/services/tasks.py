"""Tasks: create, update, assign, complete, reopen, move, delete.

Create and move, the hot writes, run raw statements: the list lock, then one
statement that reads the placement (ranking.placement_sql), writes the task's
row and its audit event. They take ids as well as instances: the handler
passes the ids and the service looks the rows up with their locks (NotFound
as the access helpers raise it) and authorizes the actor on them, so no row
is read twice. The query cache never serves their reads; rows cacheops cannot
see written are invalidated after commit (ranking.forget).
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from platform_core.auth import Actor
from platform_core.errors import Conflict, InvalidInput, NotFound
from platform_core.permissions import Action, authorize
from tenant_apps.audit.models import AuditEvent
from tenant_apps.audit.services import audit_event, diff, snapshot
from tenant_apps.boards import ranking
from tenant_apps.boards.effects import boards_changed
from tenant_apps.boards.models import Task, TaskList, TaskStatus
from tenant_apps.boards.services._common import (
    UNSET,
    columns_sql,
    concrete_field,
    db_value,
    delete_recorded,
    ensure_member,
    fetch,
    fetch_annotated,
    full_container,
    given,
    insert_select,
    lock_task,
    saved,
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

_TASK = Task._meta.db_table
_LIST = TaskList._meta.db_table
_LOCK_LIST_SQL = f'SELECT {columns_sql(TaskList)} FROM "{_LIST}" WHERE id = %s FOR UPDATE'
# The task's list (as this statement sees it: checked again below) and the
# target list, locked in id order (the global lock order), in one statement.
_LOCK_MOVE_LISTS_SQL = f"""
    SELECT {columns_sql(TaskList)} FROM "{_LIST}"
    WHERE id = ANY(ARRAY[(SELECT list_id FROM "{_TASK}" WHERE id = %s), %s::uuid])
    ORDER BY id FOR UPDATE"""
# The task with its position, locked after its list (whose lock keeps the ranks still).
_LOCK_TASK_SQL = f"""
    SELECT {columns_sql(Task, "t")},
           (SELECT count(*) FROM "{_TASK}" s WHERE s.list_id = t.list_id AND s.rank < t.rank)
    FROM "{_TASK}" t WHERE t.id = %s FOR UPDATE OF t"""
# The audit event's changes, with the position the statement chose.
_FILL_POSITION = "jsonb_set(%s, '{position,to}', to_jsonb(pl.idx))"

# (index, size, before, after) -> the rank of the slot it renumbered for the task, or None
Rebalance = Callable[[int, int, int | None, int | None], int | None]


def _id(obj: Any) -> UUID:
    """The id of an instance, or the id itself."""
    return obj.pk if hasattr(obj, "pk") else obj  # type: ignore[no-any-return]


def _placed(
    statement: str, params: Callable[[int | None], list[Any]], rebalance: Rebalance
) -> tuple[int, int, int, bool]:
    """Run a fused placement statement (whose SELECT reads size, idx, before,
    after, rank, rows written; `params(rank)` its parameters). When no rank
    was free, renumber a window (`rebalance`) and run it once more with the
    slot's rank. Returns (size, index, rank, written)."""
    with connection.cursor() as cursor:
        cursor.execute(statement, params(None))
        size, index, before, after, rank, written = cursor.fetchone()
        if rank is None:
            slot = rebalance(index, size, before, after)
            if slot is not None:
                cursor.execute(statement, params(slot))
                size, index, _, _, rank, written = cursor.fetchone()
    return int(size), int(index), rank, bool(written)


def _rebalancer(
    task_id: UUID | None, list_id: UUID, capacity: int | None, *, stays: int | None = None
) -> Rebalance:
    """ranking.rebalance in the list, unless the list is full (Forbidden) or
    the task would stay at index `stays` (nothing to place)."""

    def rebalance(index: int, size: int, before: int | None, after: int | None) -> int | None:
        if capacity is not None and size >= capacity:
            raise full_container(capacity, "tasks per list")
        if index == stays:
            return None
        siblings = ranking.siblings(Task, "list_id", list_id, task_id)
        return ranking.rebalance(siblings, index, size, before, after)

    return rebalance


@transaction.atomic
def task_create(
    *,
    actor: Actor,
    task_list: TaskList | UUID,
    title: str,
    description: str = "",
    assignee_id: UUID | None = None,
    priority: str = "medium",
    due_at: datetime | None = None,
    position: int | None = None,
) -> Task:
    """A new open task created by the actor, at `position` of the list (0-based,
    clamped; default: the end). `task_list` (an instance or its id) is looked up
    with its lock (NotFound), and the actor authorized on it (TASK_CREATE).

    Two statements: the list locked; then the task's INSERT at its rank (the
    placement read in the same statement) with its audit event's INSERT. When
    the neighbours have no room, a window of the list is renumbered first
    (ranking.rebalance: two more)."""
    ensure_member(actor, assignee_id)
    locked = fetch(TaskList, _LOCK_LIST_SQL, [_id(task_list)])
    if not locked:
        raise NotFound("No such list.")
    task_list = locked[0]
    authorize(actor, Action.TASK_CREATE, task_list)
    task = Task(
        board_id=task_list.board_id,
        list_id=task_list.id,
        title=title,
        description=description,
        assignee_id=assignee_id,
        priority=priority,
        due_at=due_at,
        created_by=actor.user_id,
    )
    task.position = 0  # type: ignore[attr-defined]  # position: set by the selectors, not a column
    event = audit_event(actor=actor, action="task.created", target=task, changes=diff({}, snapshot(task, TASK_FIELDS)))
    capacity = settings.MAX_TASKS_PER_LIST
    insert_task, task_params = insert_select(task, {"rank": ("pl.rank", [])})
    insert_event, event_params = insert_select(event, {"changes": (_FILL_POSITION, [db_value(event, "changes")])})
    statement = f"""
        WITH {ranking.placement_sql(_TASK, "list_id", exclude=False)},
        ins AS ({insert_task} FROM pl WHERE pl.rank IS NOT NULL AND pl.size < %s RETURNING 1),
        aud AS ({insert_event} FROM pl, ins)
        SELECT size, idx, before, after, rank, (SELECT count(*) FROM ins) FROM pl"""
    list_id = task_list.id

    def params(rank: int | None) -> list[Any]:
        placement = ranking.placement_params(list_id, None, position, exclude=False, rank=rank)
        return [*placement, *task_params, capacity, *event_params]

    size, index, rank, written = _placed(statement, params, _rebalancer(None, list_id, capacity))
    if not written:
        raise full_container(capacity, "tasks per list")
    _finish(task, event, index, rank)
    ranking.forget([task])
    boards_changed(connection.schema_name, [task.board_id], event)  # type: ignore[attr-defined]  # django-tenants
    return task


def _finish(task: Task, event: AuditEvent, index: int, rank: int) -> None:
    """The instances as the statement wrote them."""
    task.position = index  # type: ignore[attr-defined]  # position: set by the selectors, not a column
    task.rank = rank
    if "position" in event.changes:
        event.changes["position"]["to"] = index
    saved(task)
    saved(event)


def _lock_task(actor: Actor, task: Task | UUID, action: Action = Action.TASK_UPDATE) -> Task:
    """The task locked, with its position (one statement; NotFound), the actor
    authorized on it for `action`."""
    found = fetch_annotated(Task, _LOCK_TASK_SQL, [_id(task)], ("position",))
    if not found:
        raise NotFound("No such task.")
    authorize(actor, action, found[0])
    return found[0]


def _task_change(*, actor: Actor, task: Task, action: str, **fields: Any) -> Task:
    """Set `fields` on the locked task; one event with the diff, none if nothing
    changed. One statement: the UPDATE and the audit event's INSERT."""
    before = snapshot(task, TASK_FIELDS)
    changed = [name for name, value in fields.items() if getattr(task, name) != value]
    if not changed:
        return task
    old = Task(**{f.attname: getattr(task, f.attname) for f in Task._meta.concrete_fields})
    for name in changed:
        setattr(task, name, fields[name])
    task.updated_at = timezone.now()
    columns = [*changed, "updated_at"]
    event = audit_event(
        actor=actor, action=action, target=task, changes=diff(before, snapshot(task, TASK_FIELDS))
    )
    insert_event, event_params = insert_select(event, {})
    sets = ", ".join(f'"{concrete_field(Task, name).column}" = %s' for name in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f'WITH upd AS (UPDATE "{_TASK}" SET {sets} WHERE id = %s RETURNING 1) {insert_event} FROM upd',
            [*(db_value(task, name) for name in columns), task.id, *event_params],
        )
    saved(event)
    ranking.forget([old, task])
    boards_changed(connection.schema_name, [task.board_id], event)  # type: ignore[attr-defined]  # django-tenants
    return task


@transaction.atomic
def task_update(
    *,
    actor: Actor,
    task: Task | UUID,
    title: str = UNSET,
    description: str = UNSET,
    priority: str = UNSET,
    due_at: datetime | None = UNSET,
) -> Task:
    """Change the given fields (`due_at=None` clears the due date). `task` (an
    instance or its id) is looked up with its lock (NotFound) and the actor
    authorized on it (TASK_UPDATE), as in every service below."""
    fields = given(title=title, description=description, priority=priority, due_at=due_at)
    return _task_change(actor=actor, task=_lock_task(actor, task), action="task.updated", **fields)


@transaction.atomic
def task_assign(*, actor: Actor, task: Task | UUID, assignee_id: UUID | None) -> Task:
    """Assign to a member of this organization (422 otherwise); None unassigns."""
    task = _lock_task(actor, task)
    ensure_member(actor, assignee_id)
    return _task_change(actor=actor, task=task, action="task.assigned", assignee_id=assignee_id)


@transaction.atomic
def task_complete(*, actor: Actor, task: Task | UUID) -> Task:
    """Status `done` with `completed_at`. Idempotent: a done task keeps its
    `completed_at` and no event is written."""
    task = _lock_task(actor, task)
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
def task_reopen(*, actor: Actor, task: Task | UUID) -> Task:
    """Back to `open`, `completed_at` cleared. Idempotent like task_complete."""
    task = _lock_task(actor, task)
    if task.status == TaskStatus.OPEN:
        return task
    return _task_change(
        actor=actor, task=task, action="task.reopened", status=TaskStatus.OPEN, completed_at=None
    )


@transaction.atomic
def task_move(
    *,
    actor: Actor,
    task: Task | UUID,
    to_list: TaskList | UUID,
    position: int | None = None,
) -> Task:
    """Move to `position` (0-based, clamped; default: the end) of `to_list`, a
    list of the same board (422 otherwise). Within one list, `position` is the
    index after the move. `task` and `to_list` (instances or ids) are looked up
    with their locks (NotFound), and the actor authorized on the task
    (TASK_UPDATE) before anything is said about the list.

    Three statements: both lists locked, the task locked (with its position),
    then one UPDATE of its row at its new rank (placement read in the same
    statement) with its audit event's INSERT; a window of the list is
    renumbered first only when the neighbours have no room
    (tenant_apps.boards.ranking)."""
    task_id, to_list_id = _id(task), _id(to_list)
    lists = {tl.id: tl for tl in fetch(TaskList, _LOCK_MOVE_LISTS_SQL, [task_id, to_list_id])}
    found = fetch_annotated(Task, _LOCK_TASK_SQL, [task_id], ("position",))
    if not found:
        raise NotFound("No such task.")
    task = found[0]
    authorize(actor, Action.TASK_UPDATE, task)
    if to_list_id not in lists:
        raise NotFound("No such list.")
    to_list = lists[to_list_id]
    if to_list.board_id != task.board_id:
        raise InvalidInput("The list belongs to another board.", loc=["body", "list_id"])
    if task.list_id not in lists:
        raise Conflict("The task was moved meanwhile; try again.", code="stale_write")

    same_list = task.list_id == to_list.id
    # a move within the list adds nothing; one into another list must fit
    capacity = None if same_list else settings.MAX_TASKS_PER_LIST
    was = task.position  # type: ignore[attr-defined]  # position: set by the selectors, not a column
    before = snapshot(task, TASK_FIELDS)
    old = Task(**{f.attname: getattr(task, f.attname) for f in Task._meta.concrete_fields})
    task.list_id = to_list.id
    task.updated_at = timezone.now()
    task.position = was + 1  # type: ignore[attr-defined]  # any other index: the diff names position
    moved = diff(before, snapshot(task, TASK_FIELDS))
    task.position = was  # type: ignore[attr-defined]
    kept = {k: v for k, v in moved.items() if k != "position"}  # if the move keeps the index
    event = audit_event(actor=actor, action="task.moved", target=task, changes=moved)
    changes = concrete_field(AuditEvent, "changes")
    insert_event, event_params = insert_select(
        event,
        {
            "changes": (
                f"CASE WHEN pl.idx = %s THEN %s ELSE {_FILL_POSITION} END",
                [was, changes.get_db_prep_save(kept, connection), db_value(event, "changes")],
            )
        },
    )
    statement = f"""
        WITH {ranking.placement_sql(_TASK, "list_id", exclude=same_list)},
        upd AS (
            UPDATE "{_TASK}" t SET list_id = %s, rank = pl.rank, updated_at = %s FROM pl
            WHERE t.id = %s AND pl.rank IS NOT NULL AND pl.size < %s{" AND pl.idx <> %s" if same_list else ""}
            RETURNING 1),
        aud AS ({insert_event} FROM pl, upd)
        SELECT size, idx, before, after, rank, (SELECT count(*) FROM upd) FROM pl"""
    update_params = [
        to_list.id,
        task.updated_at,
        task_id,
        capacity if capacity is not None else 2**62,
        *([was] if same_list else []),
    ]

    def params(rank: int | None) -> list[Any]:
        placement = ranking.placement_params(to_list_id, task_id, position, exclude=same_list, rank=rank)
        return [*placement, *update_params, *event_params]

    rebalance = _rebalancer(task_id, to_list.id, capacity, stays=was if same_list else None)
    size, index, rank, written = _placed(statement, params, rebalance)
    if not written:
        if capacity is not None and size >= capacity:
            raise full_container(capacity, "tasks per list")
        task.list_id, task.updated_at = old.list_id, old.updated_at  # a move to where it is
        return task
    if index == was:
        event.changes = kept
    _finish(task, event, index, rank)
    ranking.forget([old, task])
    boards_changed(connection.schema_name, [task.board_id], event)  # type: ignore[attr-defined]  # django-tenants
    return task


@transaction.atomic
def task_delete(*, actor: Actor, task: Task) -> None:
    """Deletes the task and its comments."""
    task = lock_task(task.id)
    delete_recorded(actor, "task.deleted", task, TASK_FIELDS, boards=[task.board_id])
