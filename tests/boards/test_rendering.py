"""The hot reads render from SQL rows, without model instances or pydantic, byte
for byte what the output schemas render from ORM objects (the oracle below is
the previous implementation: models, `BoardDetailOut`/`Page[TaskOut]`,
Ninja's JSONRenderer).

The data sets every field and leaves every nullable one unset somewhere:
assignees, due dates and completion times with and without fractions (whole
seconds, sub-millisecond, 999999 microseconds), text with quotes,
backslashes, control characters, non-ASCII and astral characters; lists
over and under the per-list bound, an empty list. Organization B holds a
look-alike board that must never appear.
"""

import json
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import OuterRef
from ninja.renderers import JSONRenderer

from platform_core.auth import Actor
from platform_core.errors import NotFound
from platform_core.pagination import PageResult, encode_cursor, paginate
from tenant_apps.boards import ranking, selectors
from tenant_apps.boards.models import Board, Task, TaskList
from tenant_apps.boards.schemas import BoardDetailOut, TaskOut
from tests.boards.conftest import in_org

pytestmark = pytest.mark.django_db

TEXTS = ["", "plain", 'quote " and \\ backslash', "tab\tnew\nline\x01\x7f", "caf\u00e9 \u2028 \U0001f600", "</script>"]
MICROS = [0, 1, 500, 999, 1000, 10000, 100000, 120000, 123456, 999999]  # PostgreSQL trims trailing zeros
BASE = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def _actor(org_world) -> Actor:
    return Actor(user_id=org_world.owner.id, email="", name="", org_id=org_world.org.id, role="owner")


def _make_board(org_world, *, sizes=(7, 0, 3, 12)) -> Board:
    """A board whose lists hold `sizes` tasks, every field varied."""
    owner = org_world.owner.id
    board = Board.objects.create(
        name="Varied \u00e9 \"board\"",
        description=TEXTS[3],
        created_by=owner,
        created_at=BASE.replace(microsecond=0),
        updated_at=BASE.replace(microsecond=123456),
    )
    tasks = []
    n = 0
    for i, size in enumerate(sizes):
        task_list = TaskList.objects.create(board=board, name=f"List {i} {TEXTS[4]}", rank=(10 - i) * 1024)
        for j in range(size):
            n += 1
            micro = MICROS[n % len(MICROS)]
            tasks.append(
                Task(
                    board=board,
                    list=task_list,
                    title=f"Task {TEXTS[n % len(TEXTS)]} {n}",
                    description=TEXTS[(n + 1) % len(TEXTS)],
                    status="done" if n % 3 == 0 else "open",
                    priority=("low", "medium", "high", "urgent")[n % 4],
                    assignee_id=None if n % 2 else org_world.member.id,
                    created_by=owner,
                    due_at=None if n % 3 == 1 else BASE + timedelta(days=n % 5, microseconds=micro),
                    completed_at=BASE.replace(microsecond=micro) if n % 3 == 0 else None,
                    rank=(j + 1) * 1024 - n,  # list order differs from creation order
                    created_at=BASE + timedelta(seconds=n * 7 % 11, microseconds=MICROS[(n + 3) % len(MICROS)]),
                    updated_at=BASE + timedelta(hours=n, microseconds=micro),
                )
            )
    Task.objects.bulk_create(tasks)
    return board


def _render(data) -> bytes:
    return JSONRenderer().render(None, data, response_status=200).encode()  # type: ignore[arg-type]


def _orm_board_detail(board_id, per_list: int) -> bytes:
    """The previous implementation: model instances, BoardDetailOut, JSONRenderer."""
    board = Board.objects.nocache().get(id=board_id)
    task_count = selectors.SubqueryCount(Task.objects.filter(list_id=OuterRef("id")).order_by().values("pk"))
    board.ordered_lists = list(
        TaskList.objects.nocache().filter(board_id=board.id).annotate(task_count=task_count).order_by("rank")
    )
    tasks_by_list = defaultdict(list)
    for task in Task.objects.nocache().filter(board_id=board.id).order_by("list_id", "rank"):
        if len(tasks_by_list[task.list_id]) < per_list:
            tasks_by_list[task.list_id].append(task)
    for list_position, task_list in enumerate(board.ordered_lists):
        task_list.position = list_position
        task_list.ordered_tasks = tasks_by_list.get(task_list.id, [])
        for task_position, task in enumerate(task_list.ordered_tasks):
            task.position = task_position
        task_list.tasks_next_cursor = None
        if task_list.task_count > len(task_list.ordered_tasks):
            last = task_list.ordered_tasks[-1] if task_list.ordered_tasks else None
            values = (
                [board.id, task_list.rank, task_list.id, last.rank, last.id]
                if last
                else [board.id, task_list.rank, task_list.id, ranking.LOW - 1, uuid.UUID(int=0)]
            )
            task_list.tasks_next_cursor = encode_cursor(values, selectors.TASK_ORDERINGS["position"])
    return _render(BoardDetailOut.from_orm(board).model_dump())


def _orm_tasks_page(filters: dict, ordering: str, limit: int, cursor) -> bytes:
    queryset = selectors._tasks_queryset(**{**dict.fromkeys(FILTERS), **filters}, ordering=ordering)
    page: PageResult = paginate(
        queryset.nocache(), ordering=selectors.TASK_ORDERINGS[ordering], limit=limit, cursor=cursor
    )
    items = [TaskOut.from_orm(task).model_dump() for task in page.items]
    return _render({"items": items, "next_cursor": page.next_cursor})


FILTERS = ("board_id", "list_id", "assignee_id", "status", "priority", "due_before", "due_after", "q")


@pytest.fixture
def boards(world):
    with in_org(world.b):  # the look-alike, in organization B
        lookalike = _make_board(world.b)
    with in_org(world.a):
        board = _make_board(world.a)
        empty = Board.objects.create(name="Empty", created_by=world.a.owner.id)
    return board, empty, lookalike


@pytest.mark.parametrize("per_list", [5, 100, 0])
def test_board_detail_is_byte_identical_to_the_schema_rendering(world, boards, settings, per_list):
    settings.BOARD_DETAIL_TASKS_PER_LIST = per_list
    board, empty, lookalike = boards
    with in_org(world.a):
        for subject in (board, empty):
            expected = _orm_board_detail(subject.id, per_list)
            body = selectors.board_detail_json(_actor(world.a), subject.id)
            assert body == expected
        detail = json.loads(selectors.board_detail_json(_actor(world.a), board.id))
        sizes = (12, 3, 0, 7)  # lists in rank order: the last made comes first
        assert [len(lst["tasks"]) for lst in detail["lists"]] == [min(n, per_list) for n in sizes]
        assert [lst["task_count"] for lst in detail["lists"]] == list(sizes)
        assert [lst["tasks_next_cursor"] is not None for lst in detail["lists"]] == [n > per_list for n in sizes]
        with pytest.raises(NotFound):  # B's board is not in A's schema
            selectors.board_detail(_actor(world.a), lookalike.id)
    with in_org(world.b):
        assert selectors.board_detail_json(_actor(world.b), lookalike.id) == _orm_board_detail(lookalike.id, per_list)


@pytest.mark.parametrize("ordering", list(selectors.TASK_ORDERINGS))
def test_task_pages_are_byte_identical_to_the_schema_rendering(world, boards, ordering):
    """Every page of several filters, walked by their cursors, in both organizations."""
    board, _, lookalike = boards
    for org_world, subject in ((world.a, board), (world.b, lookalike)):
        with in_org(org_world):
            first_list = TaskList.objects.filter(board=subject).order_by("rank").first()
            cases = [
                {},
                {"board_id": subject.id},
                {"list_id": first_list.id},
                {"assignee_id": org_world.member.id, "status": "open"},
                {"priority": "high", "q": "task"},
                {"due_after": BASE + timedelta(days=1), "due_before": BASE + timedelta(days=4)},
            ]
            for filters in cases:
                cursor, pages = None, 0
                while True:
                    expected = _orm_tasks_page(filters, ordering, 4, cursor)
                    data = selectors.tasks_page_data(
                        actor=_actor(org_world), **filters, ordering=ordering, limit=4, cursor=cursor
                    )
                    assert json.dumps(data).encode() == expected, (filters, pages)
                    pages += 1
                    cursor = data["next_cursor"]
                    if cursor is None:
                        break
                assert pages > 1 or filters  # the unfiltered walk spans pages
                ids = {t["board_id"] for t in data["items"]}
                assert ids <= {str(subject.id)}, "another organization's task"
