"""Reads of boards, lists, tasks and comments: access helpers and page/detail queries.

Access helpers (`access_board`, `access_list`, `access_task`, `access_comment`)
return the object or raise the same NotFound whether the id does not exist or
belongs to another organization (other schemas' rows are simply not visible
here). Permission checks stay in the handlers (`authorize`), which need the
object the helper returns.

Every query has a fixed cost whatever the number of rows: `position` is a
correlated subquery in the same SELECT; board detail is two queries and
holds at most BOARD_DETAIL_TASKS_PER_LIST tasks per list.

The hot reads (board detail, GET /tasks) build plain data from SQL rows (ids
and timestamps rendered as text by PostgreSQL, no model instances, no
pydantic) and are served pre-rendered, gzipped, from a versioned cache
(`*_rendered`/`tasks_page`, platform_core.rendered), byte for byte the JSON the
output schemas would render.
"""

import hashlib
import json
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import connection
from django.db.models import (
    Case,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce

from platform_core.auth import Actor
from platform_core.cache import ALL_BOARDS, VersionedCache, board_detail_cache
from platform_core.errors import NotFound
from platform_core.pagination import PageResult, cursor_filter, encode_cursor, paginate
from platform_core.rendered import Rendered, gzip_body, render_json, weak_etag
from tenant_apps.boards import ranking
from tenant_apps.boards.models import PRIORITY_RANK, Board, Comment, Task, TaskList

# Tasks without a due date sort after every dated one in `ordering=due_at`.
FAR_FUTURE = datetime(9999, 12, 31, tzinfo=UTC)


class SubqueryCount(Subquery):
    """`(SELECT count(*) FROM (<subquery>))`: always one row, 0 when empty.

    A Subquery subclass on purpose: cacheops finds annotation subqueries by
    type and invalidates the outer query on any change to their table.
    """

    template = "(SELECT count(*) FROM (%(subquery)s) _count)"
    output_field = IntegerField()


def _rank_below(model: type[Task] | type[TaskList], container: str) -> SubqueryCount:
    siblings = model.objects.filter(
        **{container: OuterRef(container), "rank__lt": OuterRef("rank")}
    )
    return SubqueryCount(siblings.order_by().values("pk"))


def tasks_with_position() -> QuerySet[Task]:
    """Tasks annotated with `position` (0-based index within their list)."""
    return Task.objects.annotate(position=_rank_below(Task, "list_id"))


def lists_with_position() -> QuerySet[TaskList]:
    """Lists annotated with `position` (0-based index within their board)."""
    return TaskList.objects.annotate(position=_rank_below(TaskList, "board_id"))


# --- access helpers ---------------------------------------------------------------
# The object in this organization (the request's schema) or NotFound; what the
# caller may do with it is the matrix's (platform_core.permissions.authorize).
# Read from PostgreSQL, never the query cache: a write that follows must act on
# the row as it is (and a cache miss inside a request that writes costs more
# than the read: a lookup, a store, then an invalidation at commit).


def access_board(board_id: UUID) -> Board:
    board = Board.objects.nocache().filter(id=board_id).first()  # type: ignore[attr-defined]
    if board is None:
        raise NotFound("No such board.")
    return board  # type: ignore[no-any-return]


def access_list(list_id: UUID) -> TaskList:
    task_list = lists_with_position().nocache().filter(id=list_id).first()  # type: ignore[attr-defined]
    if task_list is None:
        raise NotFound("No such list.")
    return task_list  # type: ignore[no-any-return]


def access_task(task_id: UUID) -> Task:
    task = tasks_with_position().nocache().filter(id=task_id).first()  # type: ignore[attr-defined]
    if task is None:
        raise NotFound("No such task.")
    return task  # type: ignore[no-any-return]


def access_comment(comment_id: UUID) -> Comment:
    comment = (
        Comment.objects.nocache()  # type: ignore[attr-defined]
        .select_related("task")
        .filter(id=comment_id)
        .first()
    )
    if comment is None:
        raise NotFound("No such comment.")
    return comment  # type: ignore[no-any-return]


# --- boards -------------------------------------------------------------------------


def boards_page(*, limit: int, cursor: str | None) -> PageResult:
    return paginate(Board.objects.all(), ordering=("created_at", "id"), limit=limit, cursor=cursor)


def board_detail(actor: Actor, board_id: UUID) -> dict[str, Any]:
    """The board detail as the API renders it (BoardDetailOut), as plain data:
    dicts of str, int and None, built from SQL rows without model instances.

    Bounded: each list carries at most BOARD_DETAIL_TASKS_PER_LIST tasks (its
    first ones), its `task_count`, and `tasks_next_cursor`, a GET /tasks cursor
    (ordering `position`) after the last included task when some were left
    out (None otherwise).

    Two queries whatever the size, an empty board included: the board with its
    lists and their task counts, and the first tasks of each list (a LATERAL
    join reading at most the limit per list from the (list, rank) index).
    PostgreSQL renders ids and timestamps as text (`_ts` finishes the
    timestamps), so Python only arranges strings. They bypass the ORM cache:
    the rendered detail (board_detail_rendered) is this read's cache, and it
    must be built from the database, never from a query-cache entry a racing
    reader may have left stale.
    """
    per_list = settings.BOARD_DETAIL_TASKS_PER_LIST
    with connection.cursor() as cursor:
        cursor.execute(_BOARD_SQL, [board_id])
        rows = cursor.fetchall()
        if not rows:
            raise NotFound("No such board.")
        tasks_by_list: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        if rows[0][5] is not None:  # the board has lists
            cursor.execute(_FIRST_TASKS_SQL, [per_list, board_id])
            for row in cursor.fetchall():
                tasks_by_list[row[2]].append(row)
    board_id_text, name, description, created_at, updated_at = rows[0][:5]
    lists = []
    for list_position, (list_id, list_name, list_rank, task_count) in enumerate(
        row[5:] for row in rows if row[5] is not None
    ):
        task_rows = tasks_by_list.get(list_id, [])
        next_cursor = None
        if task_count > len(task_rows):
            # The keys of TASK_ORDERINGS["position"] for the last included task
            # (none included: a limit of 0, the cursor starts before the list).
            last = (task_rows[-1][13], UUID(task_rows[-1][0])) if task_rows else (ranking.LOW - 1, _NIL_UUID)
            values = [board_id, list_rank, UUID(list_id), *last]
            next_cursor = encode_cursor(values, TASK_ORDERINGS["position"])
        lists.append(
            {
                "id": list_id,
                "name": list_name,
                "position": list_position,
                "tasks": [_task_data(row, position) for position, row in enumerate(task_rows)],
                "task_count": task_count,
                "tasks_next_cursor": next_cursor,
            }
        )
    return {
        "id": board_id_text,
        "name": name,
        "description": description,
        "created_at": _ts(created_at),
        "updated_at": _ts(updated_at),
        "lists": lists,
    }


def _ts(value: str | None) -> str | None:
    """A UTC timestamp as PostgreSQL writes it (`(t AT TIME ZONE 'UTC')::text`,
    ISO DateStyle: `2026-01-02 03:04:05[.fraction, trailing zeros trimmed]`)
    the way the API renders datetimes (Django's JSON encoder: ISO 8601,
    milliseconds truncated and only when there is a fraction, `Z`)."""
    if value is None:
        return None
    if len(value) == 19:
        return f"{value[:10]}T{value[11:]}Z"
    return f"{value[:10]}T{value[11:19]}.{value[20:23]:0<3}Z"


def _task_data(row: tuple[Any, ...], position: int) -> dict[str, Any]:
    """TaskOut as plain data, from a row of `_TASK_COLUMNS` (then position)."""
    return {
        "id": row[0],
        "board_id": row[1],
        "list_id": row[2],
        "title": row[3],
        "description": row[4],
        "status": row[5],
        "priority": row[6],
        "assignee_id": row[7],
        "created_by": row[8],
        "due_at": _ts(row[9]),
        "position": position,
        "completed_at": _ts(row[10]),
        "created_at": _ts(row[11]),
        "updated_at": _ts(row[12]),
    }


def _utc_text(column: str) -> str:
    return f"({column} AT TIME ZONE 'UTC')::text"


_BOARD_TABLE = Board._meta.db_table
_TASK_TABLE = Task._meta.db_table
_LIST_TABLE = TaskList._meta.db_table
# A task's columns in TaskOut's order (position is computed), ids and
# timestamps as text; then its rank (for the cursor).
_TASK_COLUMNS = ", ".join(
    [
        "t.id::text",
        "t.board_id::text",
        "t.list_id::text",
        "t.title",
        "t.description",
        "t.status",
        "t.priority",
        "t.assignee_id::text",
        "t.created_by::text",
        *(_utc_text(f"t.{name}") for name in ("due_at", "completed_at", "created_at", "updated_at")),
        "t.rank",
    ]
)
# The board, then one row per list (in order) with its task count; an empty
# board is one row with NULL list columns.
_BOARD_SQL = f"""
    SELECT b.id::text, b.name, b.description, {_utc_text("b.created_at")}, {_utc_text("b.updated_at")},
           l.id::text, l.name, l.rank,
           (SELECT count(*) FROM "{_TASK_TABLE}" c WHERE c.list_id = l.id)
    FROM "{_BOARD_TABLE}" b LEFT JOIN "{_LIST_TABLE}" l ON l.board_id = b.id
    WHERE b.id = %s
    ORDER BY l.rank
"""
# The first N tasks of every list of a board, in (list, rank) order: per list an
# index range scan on the unique (list_id, rank) index, stopped after N rows.
_FIRST_TASKS_SQL = f"""
    SELECT {_TASK_COLUMNS} FROM "{_LIST_TABLE}" l
    CROSS JOIN LATERAL (
        SELECT * FROM "{_TASK_TABLE}" tt WHERE tt.list_id = l.id ORDER BY tt.rank LIMIT %s
    ) t
    WHERE l.board_id = %s
    ORDER BY t.list_id, t.rank
"""
_NIL_UUID = UUID(int=0)
# Part of every cached entry's key and ETag: bump it when the rendering changes,
# so copies rendered by an older release are never served.
RENDER_REVISION = "r1"


def board_detail_rendered(actor: Actor, board_id: UUID) -> Rendered:
    """The rendered board detail, from the response cache when warm (one Redis
    MGET, no SQL): its gzip body and ETag (platform_core.rendered). Writes to
    the board retire the cached copy after commit
    (tenant_apps.boards.effects.boards_changed)."""
    schema = connection.schema_name  # type: ignore[attr-defined]  # django-tenants' connection
    version, cached = board_detail_cache.get(schema, board_id, RENDER_REVISION)
    etag = weak_etag(version, f"{board_id}.{RENDER_REVISION}")
    if cached is not None:
        return Rendered(etag=etag, gzip=cached)
    body = render_json(board_detail(actor, board_id))
    if version is None:  # the response cache is off: nothing to compress for
        return Rendered(etag=None, plain=body)
    compressed = gzip_body(body)
    if not connection.in_atomic_block:  # never cache what an open transaction sees
        board_detail_cache.set(schema, board_id, version, compressed, RENDER_REVISION)
    return Rendered(etag=etag, gzip=compressed, plain=body)


def board_detail_json(actor: Actor, board_id: UUID) -> bytes:
    """The board detail's JSON body (plain), cached as board_detail_rendered."""
    return board_detail_rendered(actor, board_id).json()


# --- tasks ----------------------------------------------------------------------------

# ordering name -> keyset ordering (every key non-null, ending in the unique id).
TASK_ORDERINGS: dict[str, tuple[str, ...]] = {
    "position": ("board_id", "list_rank", "list_id", "rank", "id"),
    "due_at": ("due_key", "id"),
    "-created_at": ("-created_at", "-id"),
    "priority": ("priority_rank", "created_at", "id"),
    "updated_at": ("updated_at", "id"),  # oldest change first: sync with updated_since
}


def _tasks_queryset(
    *,
    board_id: UUID | None,
    list_id: UUID | None,
    assignee_id: UUID | None,
    status: str | None,
    priority: str | None,
    due_before: datetime | None,
    due_after: datetime | None,
    q: str | None,
    ordering: str,
    updated_since: datetime | None = None,
) -> QuerySet[Task]:
    queryset = tasks_with_position()
    if board_id:
        queryset = queryset.filter(board_id=board_id)
    if list_id:
        queryset = queryset.filter(list_id=list_id)
    if assignee_id:
        queryset = queryset.filter(assignee_id=assignee_id)
    if status:
        queryset = queryset.filter(status=status)
    if priority:
        queryset = queryset.filter(priority=priority)
    if due_before:
        queryset = queryset.filter(due_at__lt=due_before)
    if due_after:
        queryset = queryset.filter(due_at__gte=due_after)
    if q:
        queryset = queryset.filter(Q(title__icontains=q) | Q(description__icontains=q))
    if updated_since:
        queryset = queryset.filter(updated_at__gt=updated_since)

    if ordering == "position":
        queryset = queryset.annotate(list_rank=F("list__rank"))
    elif ordering == "due_at":
        queryset = queryset.annotate(due_key=Coalesce("due_at", Value(FAR_FUTURE)))
    elif ordering == "priority":
        queryset = queryset.annotate(
            priority_rank=Case(
                *(When(priority=value, then=Value(rank)) for value, rank in PRIORITY_RANK.items()),
                output_field=IntegerField(),
            )
        )
    return queryset


class _UtcText(Func):
    """A timestamp column as UTC text (`_ts` finishes it)."""

    template = "((%(expressions)s) AT TIME ZONE 'UTC')::text"
    output_field = TextField()


# Ids and timestamps as text, for `_task_data`'s rows.
_TASK_TEXT_COLUMNS: dict[str, Func] = {
    "out_id": Cast("id", TextField()),
    "out_board_id": Cast("board_id", TextField()),
    "out_list_id": Cast("list_id", TextField()),
    "out_assignee_id": Cast("assignee_id", TextField()),
    "out_created_by": Cast("created_by", TextField()),
    "out_due_at": _UtcText("due_at"),
    "out_completed_at": _UtcText("completed_at"),
    "out_created_at": _UtcText("created_at"),
    "out_updated_at": _UtcText("updated_at"),
}
# A row of `_task_data` (TaskOut's order), then `position`.
_TASK_VALUES = (
    "out_id",
    "out_board_id",
    "out_list_id",
    "title",
    "description",
    "status",
    "priority",
    "out_assignee_id",
    "out_created_by",
    "out_due_at",
    "out_completed_at",
    "out_created_at",
    "out_updated_at",
    "position",
)


def tasks_page_data(
    *,
    actor: Actor,
    board_id: UUID | None = None,
    list_id: UUID | None = None,
    assignee_id: UUID | None = None,
    status: str | None = None,
    priority: str | None = None,
    due_before: datetime | None = None,
    due_after: datetime | None = None,
    q: str | None = None,
    ordering: str = "position",
    updated_since: datetime | None = None,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    """Tasks matching every given filter, one query, as the API renders
    `Page[TaskOut]` in plain data (no model instances).

    `due_after` is inclusive and `due_before` exclusive (`[due_after, due_before)`);
    tasks without a due date match neither. `q` is a case-insensitive substring
    of the title or the description; `updated_since` keeps tasks changed
    strictly after it (`updated_at >`). Read past the ORM cache: the rendered page
    (tasks_page) is this read's cache.
    """
    queryset = _tasks_queryset(
        board_id=board_id,
        list_id=list_id,
        assignee_id=assignee_id,
        status=status,
        priority=priority,
        due_before=due_before,
        due_after=due_after,
        q=q,
        ordering=ordering,
        updated_since=updated_since,
    )
    keys = TASK_ORDERINGS[ordering]
    if cursor:
        queryset = cursor_filter(queryset, keys, cursor)
    rows = list(
        queryset.nocache()  # type: ignore[attr-defined]  # cacheops'
        .annotate(**_TASK_TEXT_COLUMNS)
        .order_by(*keys)
        .values_list(*_TASK_VALUES, *(key.lstrip("-") for key in keys))[: limit + 1]
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(list(rows[-1][14:]), keys)
    return {"items": [_task_data(row, row[13]) for row in rows], "next_cursor": next_cursor}


# Rendered pages of GET /tasks hang on the version of their board (board_id
# given) or on the organization-wide one; kept 15 minutes (free-text queries
# make many variants).
_task_pages = VersionedCache(board_detail_cache.namespace, timeout=15 * 60)


def tasks_page(*, actor: Actor, limit: int, cursor: str | None, **filters: Any) -> Rendered:
    """The rendered GET /tasks page for `filters` (tasks_page_data's), from the
    response cache when warm (one Redis MGET, no SQL). A page with `board_id`
    is retired by any write to that board, any other page by any board write
    of the organization (tenant_apps.boards.effects.boards_changed)."""
    schema = connection.schema_name  # type: ignore[attr-defined]  # django-tenants' connection
    scope = filters.get("board_id") or ALL_BOARDS
    query = json.dumps([sorted(filters.items()), limit, cursor], default=str)
    digest = hashlib.sha256(query.encode()).hexdigest()[:32]
    variant = f"tasks.{RENDER_REVISION}.{digest}"
    version, cached = _task_pages.get(schema, scope, variant)
    etag = weak_etag(version, digest)
    if cached is not None:
        return Rendered(etag=etag, gzip=cached)
    body = render_json(tasks_page_data(actor=actor, limit=limit, cursor=cursor, **filters))
    if version is None:
        return Rendered(etag=None, plain=body)
    compressed = gzip_body(body)
    if not connection.in_atomic_block:
        _task_pages.set(schema, scope, version, compressed, variant)
    return Rendered(etag=etag, gzip=compressed, plain=body)


# --- comments -------------------------------------------------------------------------


def comments_page(*, task: Task, limit: int, cursor: str | None) -> PageResult:
    """A task's comments, oldest first."""
    return paginate(task.comments.all(), ordering=("created_at", "id"), limit=limit, cursor=cursor)
