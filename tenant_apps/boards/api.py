"""Boards, lists, tasks and comments (organization hosts).

Handlers are thin: look the object up through an access helper (404 for
unknown ids and other organizations' ids alike), name the Action of the
permission matrix, call one service or selector.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

from django.http import HttpResponse
from ninja import Query, Router, Status

from platform_core.auth import member_auth
from platform_core.etags import conditional_get, if_match
from platform_core.http import OrgRequest
from platform_core.pagination import Page, PageQuery
from platform_core.permissions import Action, authorize, requires
from platform_core.rendered import rendered_response
from platform_core.schemas import ERRORS_AUTH, ERRORS_OBJECT, ErrorOut
from tenant_apps.boards import selectors, services
from tenant_apps.boards.models import Task
from tenant_apps.boards.schemas import (
    BoardCreateIn,
    BoardDetailOut,
    BoardOut,
    BoardUpdateIn,
    CommentCreateIn,
    CommentOut,
    CommentUpdateIn,
    ListCreateIn,
    ListOut,
    ListUpdateIn,
    TaskAssignIn,
    TaskCreateIn,
    TaskFilters,
    TaskMoveIn,
    TaskOut,
    TaskUpdateIn,
)
from tenant_apps.boards.selectors import access_board, access_comment, access_list, access_task

router = Router(tags=["boards"], auth=member_auth)

ERRORS_WRITE = {**ERRORS_OBJECT, 409: ErrorOut}
ERRORS_IF_MATCH = {**ERRORS_OBJECT, 412: ErrorOut}  # PATCH and DELETE take If-Match
ERRORS_MOVE = {**ERRORS_WRITE, 412: ErrorOut}
JSON_UTF8 = "application/json; charset=utf-8"  # what Ninja's renderer sends


# --- boards -----------------------------------------------------------------------


@router.get("/boards", response={200: Page[BoardOut], **ERRORS_AUTH})
@requires(Action.BOARD_READ)
def board_list(request: OrgRequest, page: Query[PageQuery]):
    return selectors.boards_page(limit=page.limit, cursor=page.cursor)


@router.post("/boards", response={201: BoardOut, **ERRORS_AUTH})
@requires(Action.BOARD_CREATE)
def board_create(request: OrgRequest, payload: BoardCreateIn):
    return Status(201, services.board_create(actor=request.actor, **payload.dict()))


@router.get("/boards/{board_id}", response={200: BoardDetailOut, **ERRORS_OBJECT})
@requires(Action.BOARD_READ)
def board_detail(request: OrgRequest, board_id: UUID):
    """The board with its lists and their tasks, in order. Served pre-rendered
    when warm, gzipped if the client accepts it, with an ETag (304 for a
    matching If-None-Match)."""
    rendered = selectors.board_detail_rendered(request.actor, board_id)
    return rendered_response(request, rendered, content_type="application/json")


@router.patch("/boards/{board_id}", response={200: BoardOut, **ERRORS_IF_MATCH})
@requires(Action.BOARD_UPDATE, per_object=True)
def board_update(request: OrgRequest, board_id: UUID, payload: BoardUpdateIn):
    board = access_board(board_id)
    authorize(request.actor, Action.BOARD_UPDATE, board)
    with if_match(request, board) as board:
        return services.board_update(
            actor=request.actor, board=board, **payload.dict(exclude_unset=True)
        )


@router.delete("/boards/{board_id}", response={204: None, **ERRORS_IF_MATCH})
@requires(Action.BOARD_DELETE, per_object=True)
def board_delete(request: OrgRequest, board_id: UUID):
    board = access_board(board_id)
    authorize(request.actor, Action.BOARD_DELETE, board)
    with if_match(request, board) as board:
        services.board_delete(actor=request.actor, board=board)
    return Status(204, None)


# --- lists ------------------------------------------------------------------------


@router.post("/boards/{board_id}/lists", response={201: ListOut, **ERRORS_OBJECT})
@requires(Action.LIST_CREATE, per_object=True)
def list_create(request: OrgRequest, board_id: UUID, payload: ListCreateIn):
    board = access_board(board_id)
    authorize(request.actor, Action.LIST_CREATE, board)
    return Status(201, services.list_create(actor=request.actor, board=board, **payload.dict()))


@router.patch("/lists/{list_id}", response={200: ListOut, **ERRORS_IF_MATCH})
@requires(Action.LIST_UPDATE, per_object=True)
def list_update(request: OrgRequest, list_id: UUID, payload: ListUpdateIn):
    task_list = access_list(list_id)
    authorize(request.actor, Action.LIST_UPDATE, task_list)
    with if_match(request, task_list) as task_list:
        return services.list_update(
            actor=request.actor, task_list=task_list, **payload.dict(exclude_unset=True)
        )


@router.delete("/lists/{list_id}", response={204: None, **ERRORS_IF_MATCH})
@requires(Action.LIST_DELETE, per_object=True)
def list_delete(request: OrgRequest, list_id: UUID):
    task_list = access_list(list_id)
    authorize(request.actor, Action.LIST_DELETE, task_list)
    with if_match(request, task_list) as task_list:
        services.list_delete(actor=request.actor, task_list=task_list)
    return Status(204, None)


# --- tasks ------------------------------------------------------------------------


@router.get("/tasks", response={200: Page[TaskOut], **ERRORS_AUTH})
@requires(Action.TASK_READ)
def task_list(request: OrgRequest, filters: Query[TaskFilters], page: Query[PageQuery]):
    criteria = filters.dict()
    if criteria["assignee_id"] == "me":
        criteria["assignee_id"] = request.actor.user_id
    rendered = selectors.tasks_page(actor=request.actor, **criteria, limit=page.limit, cursor=page.cursor)
    return rendered_response(request, rendered, content_type=JSON_UTF8)


@router.post("/tasks", response={201: TaskOut, **ERRORS_OBJECT})
@requires(Action.TASK_CREATE, per_object=True)
def task_create(request: OrgRequest, payload: TaskCreateIn):
    data = payload.dict()
    # The service looks the list up with its lock (404) and authorizes on it.
    task_list = data.pop("list_id")
    return Status(201, services.task_create(actor=request.actor, task_list=task_list, **data))


@contextmanager
def _task_for_write(request: OrgRequest, task_id: UUID) -> Iterator[Task | UUID]:
    """The task for a write service. Without `If-Match`: its id (the service
    looks it up with its lock and authorizes on it, one read). With one: the
    task, authorized and compared under its row lock in the write's
    transaction (412 when stale)."""
    if "If-Match" not in request.headers:
        yield task_id
        return
    task = access_task(task_id)
    authorize(request.actor, Action.TASK_UPDATE, task)
    with if_match(request, task) as locked:
        yield locked


@router.get("/tasks/{task_id}", response={200: TaskOut, 304: None, **ERRORS_OBJECT})
@requires(Action.TASK_READ, per_object=True)
def task_detail(request: OrgRequest, task_id: UUID, response: HttpResponse):
    task = access_task(task_id)
    authorize(request.actor, Action.TASK_READ, task)
    return conditional_get(request, response, task) or task


@router.patch("/tasks/{task_id}", response={200: TaskOut, **ERRORS_IF_MATCH})
@requires(Action.TASK_UPDATE, per_object=True)
def task_update(request: OrgRequest, task_id: UUID, payload: TaskUpdateIn):
    with _task_for_write(request, task_id) as task:
        return services.task_update(actor=request.actor, task=task, **payload.dict(exclude_unset=True))


@router.delete("/tasks/{task_id}", response={204: None, **ERRORS_IF_MATCH})
@requires(Action.TASK_DELETE, per_object=True)
def task_delete(request: OrgRequest, task_id: UUID):
    task = access_task(task_id)
    authorize(request.actor, Action.TASK_DELETE, task)
    with if_match(request, task) as task:
        services.task_delete(actor=request.actor, task=task)
    return Status(204, None)


@router.post("/tasks/{task_id}/assign", response={200: TaskOut, **ERRORS_OBJECT})
@requires(Action.TASK_UPDATE, per_object=True)
def task_assign(request: OrgRequest, task_id: UUID, payload: TaskAssignIn):
    # (as task_update)
    return services.task_assign(
        actor=request.actor, task=task_id, assignee_id=payload.assignee_id
    )


@router.post("/tasks/{task_id}/complete", response={200: TaskOut, **ERRORS_OBJECT})
@requires(Action.TASK_UPDATE, per_object=True)
def task_complete(request: OrgRequest, task_id: UUID):
    return services.task_complete(actor=request.actor, task=task_id)  # (as task_update)


@router.post("/tasks/{task_id}/reopen", response={200: TaskOut, **ERRORS_OBJECT})
@requires(Action.TASK_UPDATE, per_object=True)
def task_reopen(request: OrgRequest, task_id: UUID):
    return services.task_reopen(actor=request.actor, task=task_id)  # (as task_update)


@router.post("/tasks/{task_id}/move", response={200: TaskOut, **ERRORS_MOVE})
@requires(Action.TASK_UPDATE, per_object=True)
def task_move(request: OrgRequest, task_id: UUID, payload: TaskMoveIn):
    # The service looks the task and the list up with their locks (404) and
    # authorizes on the task before it says anything about the list.
    with _task_for_write(request, task_id) as task:
        return services.task_move(actor=request.actor, task=task, to_list=payload.list_id, position=payload.position)


# --- comments ---------------------------------------------------------------------


@router.get("/tasks/{task_id}/comments", response={200: Page[CommentOut], **ERRORS_OBJECT})
@requires(Action.COMMENT_READ, per_object=True)
def comment_list(request: OrgRequest, task_id: UUID, page: Query[PageQuery]):
    task = access_task(task_id)
    authorize(request.actor, Action.COMMENT_READ, task)
    return selectors.comments_page(task=task, limit=page.limit, cursor=page.cursor)


@router.post("/tasks/{task_id}/comments", response={201: CommentOut, **ERRORS_OBJECT})
@requires(Action.COMMENT_CREATE, per_object=True)
def comment_create(request: OrgRequest, task_id: UUID, payload: CommentCreateIn):
    task = access_task(task_id)
    authorize(request.actor, Action.COMMENT_CREATE, task)
    return Status(201, services.comment_create(actor=request.actor, task=task, body=payload.body))


@router.patch("/comments/{comment_id}", response={200: CommentOut, **ERRORS_IF_MATCH})
@requires(Action.COMMENT_UPDATE, per_object=True)
def comment_update(request: OrgRequest, comment_id: UUID, payload: CommentUpdateIn):
    comment = access_comment(comment_id)
    authorize(request.actor, Action.COMMENT_UPDATE, comment)
    with if_match(request, comment) as comment:
        return services.comment_update(actor=request.actor, comment=comment, body=payload.body)


@router.delete("/comments/{comment_id}", response={204: None, **ERRORS_IF_MATCH})
@requires(Action.COMMENT_DELETE, per_object=True)
def comment_delete(request: OrgRequest, comment_id: UUID):
    comment = access_comment(comment_id)
    authorize(request.actor, Action.COMMENT_DELETE, comment)
    with if_match(request, comment) as comment:
        services.comment_delete(actor=request.actor, comment=comment)
    return Status(204, None)
