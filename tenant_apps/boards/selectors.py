"""Reads of boards, lists, tasks and comments: access helpers and page/detail queries.

Access helpers (`access_board`, `access_list`, `access_task`, `access_comment`)
return the object or raise the same NotFound whether the id does not exist or
belongs to another organization (other schemas' rows are simply not visible
here). Permission checks stay in the handlers (`authorize`), which need the
object the helper returns.

Every query has a fixed cost whatever the number of rows: `position` is a
correlated subquery in the same SELECT; board detail is three queries and
holds at most BOARD_DETAIL_TASKS_PER_LIST tasks per list.
"""

from collections import defaultdict
from datetime import UTC, datetime
from uuid import UUID

from django.conf import settings
from django.db import connection
from django.db.models import (
    Case,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from ninja.renderers import JSONRenderer

from platform_core.auth import Actor
from platform_core.cache import board_detail_cache
from platform_core.errors import NotFound
from platform_core.pagination import PageResult, encode_cursor, paginate
from tenant_apps.boards import ranking
from tenant_apps.boards.models import PRIORITY_RANK, Board, Comment, Task, TaskList
from tenant_apps.boards.schemas import BoardDetailOut

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


def board_detail(actor: Actor, board_id: UUID) -> Board:
    """The board with `board.ordered_lists`, each with `ordered_tasks`, positions set.

    Bounded: each list carries at most BOARD_DETAIL_TASKS_PER_LIST tasks (its
    first ones), its `task_count`, and `tasks_next_cursor`, a GET /tasks cursor
    (ordering `position`) after the last included task when some were left
    out (None otherwise).

    Three queries whatever the size, an empty board included: the board, its
    lists with their task counts, and the first tasks of each list (a LATERAL
    join reading at most the limit per list from the (list, rank) index). They
    bypass the ORM cache: the rendered detail (board_detail_json) is this
    read's cache, and it must be built from the database, never from a
    query-cache entry a racing reader may have left stale.
    """
    per_list = settings.BOARD_DETAIL_TASKS_PER_LIST
    # (`nocache` is cacheops', unknown to django-stubs.)
    board: Board | None = Board.objects.nocache().filter(id=board_id).first()  # type: ignore[attr-defined]
    if board is None:
        raise NotFound("No such board.")
    task_count = SubqueryCount(Task.objects.filter(list_id=OuterRef("id")).order_by().values("pk"))
    board.ordered_lists = list(
        TaskList.objects.nocache()  # type: ignore[attr-defined]
        .filter(board_id=board.id)
        .annotate(task_count=task_count)
        .order_by("rank")
    )
    tasks_by_list: dict[UUID, list[Task]] = defaultdict(list)
    for task in Task.objects.raw(_FIRST_TASKS_SQL, [per_list, board.id]):
        tasks_by_list[task.list_id].append(task)
    for list_position, task_list in enumerate(board.ordered_lists):
        task_list.position = list_position  # type: ignore[attr-defined]  # as annotated elsewhere
        task_list.ordered_tasks = tasks_by_list.get(task_list.id, [])
        for task_position, task in enumerate(task_list.ordered_tasks):
            task.position = task_position  # type: ignore[attr-defined]
        task_list.tasks_next_cursor = None
        if task_list.task_count > len(task_list.ordered_tasks):
            last = task_list.ordered_tasks[-1] if task_list.ordered_tasks else None
            # The keys of TASK_ORDERINGS["position"] for the last included task
            # (none included: a limit of 0, the cursor starts before the list).
            values = (
                [board.id, task_list.rank, task_list.id, last.rank, last.id]
                if last
                else [board.id, task_list.rank, task_list.id, ranking.LOW - 1, _NIL_UUID]
            )
            task_list.tasks_next_cursor = encode_cursor(values, TASK_ORDERINGS["position"])
    return board


_TASK_TABLE = Task._meta.db_table
_LIST_TABLE = TaskList._meta.db_table
# The first N tasks of every list of a board, in (list, rank) order: per list an
# index range scan on the unique (list_id, rank) index, stopped after N rows.
_FIRST_TASKS_SQL = f"""
    SELECT t.* FROM "{_LIST_TABLE}" l
    CROSS JOIN LATERAL (
        SELECT * FROM "{_TASK_TABLE}" tt WHERE tt.list_id = l.id ORDER BY tt.rank LIMIT %s
    ) t
    WHERE l.board_id = %s
    ORDER BY t.list_id, t.rank
"""
_NIL_UUID = UUID(int=0)


def board_detail_json(actor: Actor, board_id: UUID) -> bytes:
    """The board detail as the API renders it, from the rendered-response cache
    when warm (no SQL, no model instances, no validation). Writes to the board
    retire the cached copy after commit (tenant_apps.boards.effects.boards_changed)."""
    schema = connection.schema_name  # type: ignore[attr-defined]  # django-tenants' connection
    version, body = board_detail_cache.get(schema, board_id)
    if body is None:
        board = board_detail(actor, board_id)
        data = BoardDetailOut.from_orm(board).model_dump()
        # The renderer never reads its request argument.
        body = JSONRenderer().render(None, data, response_status=200).encode()  # type: ignore[arg-type]
        if not connection.in_atomic_block:  # never cache what an open transaction sees
            board_detail_cache.set(schema, board_id, version, body)
    return body


# --- tasks ----------------------------------------------------------------------------

# ordering name -> keyset ordering (every key non-null, ending in the unique id).
TASK_ORDERINGS: dict[str, tuple[str, ...]] = {
    "position": ("board_id", "list_rank", "list_id", "rank", "id"),
    "due_at": ("due_key", "id"),
    "-created_at": ("-created_at", "-id"),
    "priority": ("priority_rank", "created_at", "id"),
}


def tasks_page(
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
    limit: int,
    cursor: str | None,
) -> PageResult:
    """Tasks matching every given filter, one query.

    `due_after` is inclusive and `due_before` exclusive (`[due_after, due_before)`);
    tasks without a due date match neither. `q` is a case-insensitive substring
    of the title or the description.
    """
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
    return paginate(queryset, ordering=TASK_ORDERINGS[ordering], limit=limit, cursor=cursor)


# --- comments -------------------------------------------------------------------------


def comments_page(*, task: Task, limit: int, cursor: str | None) -> PageResult:
    """A task's comments, oldest first."""
    return paginate(task.comments.all(), ordering=("created_at", "id"), limit=limit, cursor=cursor)
