"""model-bakery recipes for boards, lists, tasks and comments (tests only).

Use them inside the organization's schema (`schema_context(org.schema_name)`):
    baker.make_recipe("boards.task", list=some_list, created_by=user.id)

Ranks grow with every object made, so objects made one after the other are
in creation order. A task made with only `list=` gets its list's board
(Task.save); pass `board=` and `list=` together otherwise.
"""

import uuid
from itertools import count

from model_bakery.recipe import Recipe, foreign_key, seq

from tenant_apps.boards.models import Board, Comment, Priority, Task, TaskList, TaskStatus

_ranks = count(1)


def _next_rank() -> int:
    return next(_ranks) * 1024


board = Recipe(
    Board,
    name=seq("Board "),
    description="",
    created_by=uuid.uuid4,
)

task_list = Recipe(
    TaskList,
    board=foreign_key(board),
    name=seq("List "),
    rank=_next_rank,
)

task = Recipe(
    Task,
    board=None,  # taken from the list on save
    list=foreign_key(task_list),
    title=seq("Task "),
    description="",
    status=TaskStatus.OPEN,
    priority=Priority.MEDIUM,
    assignee_id=None,
    created_by=uuid.uuid4,
    due_at=None,
    completed_at=None,
    rank=_next_rank,
)

comment = Recipe(
    Comment,
    task=foreign_key(task),
    author_id=uuid.uuid4,
    body=seq("Comment "),
)
