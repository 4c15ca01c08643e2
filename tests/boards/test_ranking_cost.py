"""Placing tasks in a long list costs O(1) rows, with rare small renumberings
(issue 11, finding 9): repeated inserts at one spot used to renumber the whole
list every ~11 inserts (a 2,000-task list: ~1 s, 2,000 rows each time).

Rows rewritten are the task rows whose row version changed around each
placement (tests.support.RewrittenTaskRows), so every write path is counted,
whatever SQL made it.
"""

import pytest
from model_bakery import baker

from platform_core.auth import Actor
from tenant_apps.boards import ranking
from tests.boards.conftest import in_org, seed_board
from tests.support import RewrittenTaskRows

pytestmark = pytest.mark.django_db

SIZE, INSERTS = 1000, 200
FULL_RENUMBERING = SIZE * INSERTS  # rows a renumbering per insert would write
BUDGET = FULL_RENUMBERING * 5 // 100  # at most 5 % of it


def _actor(org_world) -> Actor:
    owner = org_world.owner
    return Actor(
        user_id=owner.id, email=owner.email, name=owner.name, org_id=org_world.org.id, role="owner"
    )


def _long_list(org_world, spacing: int):
    """A board with one list of SIZE tasks `t0`..`t999`, ranks `spacing` apart, and an empty list."""
    from tenant_apps.boards.models import Task

    seeded = seed_board(org_world, name="Long", lists=("Long", "Other"), tasks=0)
    task_list = seeded.lists[0]
    with in_org(org_world):
        Task.objects.bulk_create(
            [
                Task(
                    board_id=seeded.board.id,
                    list_id=task_list.id,
                    title=f"t{i}",
                    created_by=org_world.owner.id,
                    rank=(i + 1) * spacing,
                )
                for i in range(SIZE)
            ]
        )
    return seeded


def _titles_in_rank_order(list_id) -> list[str]:
    from tenant_apps.boards.models import Task

    return list(
        Task.objects.filter(list_id=list_id).order_by("rank").values_list("title", flat=True)
    )


def _lookalike_ranks(lookalike) -> dict:
    from tenant_apps.boards.models import Task

    return dict(Task.objects.filter(board_id=lookalike.board.id).values_list("id", "rank"))


@pytest.mark.parametrize(
    ("position", "spacing", "full_renumberings"),
    [
        (0, ranking.GAP, 0),  # the front
        (SIZE // 2, ranking.GAP, 0),  # always the same middle position
        (SIZE // 2, 1024, 1),  # a list packed by the old spacing: at most one renumbering
    ],
    ids=["front", "middle", "middle-of-old-list"],
)
def test_inserts_at_one_position_rewrite_few_rows(
    world, lookalike, position, spacing, full_renumberings
):
    from tenant_apps.boards import services

    seeded = _long_list(world.a, spacing)
    task_list = seeded.lists[0]
    actor = _actor(world.a)
    expected = [f"t{i}" for i in range(SIZE)]
    per_insert = []
    with in_org(world.b):
        b_before = _lookalike_ranks(lookalike)
    with in_org(world.a):
        rewritten = RewrittenTaskRows(task_list.id)
        for i in range(INSERTS):
            task = services.task_create(
                actor=actor, task_list=task_list, title=f"n{i}", position=position
            )
            per_insert.append(rewritten.since_last())
            assert task.position == min(position, SIZE + i)
            expected.insert(position, f"n{i}")
        assert _titles_in_rank_order(task_list.id) == expected
    total = sum(per_insert)
    assert total < BUDGET, (
        f"{total} rows rewritten by {INSERTS} inserts (max {max(per_insert)} in one)"
    )
    assert sum(1 for rows in per_insert if rows >= SIZE // 2) <= full_renumberings, per_insert
    with in_org(world.b):
        assert _lookalike_ranks(lookalike) == b_before  # B's list is never touched


def test_moves_to_one_position_rewrite_few_rows(world, lookalike):
    """The same for moves: the last task moved to the middle, again and again."""
    from tenant_apps.boards import services
    from tenant_apps.boards.models import Task
    from tenant_apps.boards.selectors import access_task

    seeded = _long_list(world.a, ranking.GAP)
    task_list = seeded.lists[0]
    actor = _actor(world.a)
    expected = [f"t{i}" for i in range(SIZE)]
    total = 0
    with in_org(world.a):
        rewritten = RewrittenTaskRows(task_list.id)
        for _ in range(INSERTS):
            last = Task.objects.filter(list_id=task_list.id).order_by("-rank").first()
            task = access_task(last.id)
            moved = services.task_move(
                actor=actor, task=task, to_list=task_list, position=SIZE // 2
            )
            total += rewritten.since_last() - 1  # the moved task's own row
            assert moved.position == SIZE // 2
            expected.insert(SIZE // 2, expected.pop())
        assert _titles_in_rank_order(task_list.id) == expected
    assert total < BUDGET


def test_ranks_stay_inside_their_bounds(world, lookalike):
    """At the ends of the rank space an append or a prepend renumbers a few
    neighbours instead of overflowing the bigint."""
    from tenant_apps.boards import services
    from tenant_apps.boards.models import Task

    seeded = seed_board(world.a, name="Edges", lists=("Edges",), tasks=0)
    task_list = seeded.lists[0]
    actor = _actor(world.a)
    with in_org(world.a):
        baker.make_recipe("boards.task", list=task_list, title="low", rank=ranking.LOW + 1)
        baker.make_recipe("boards.task", list=task_list, title="high", rank=ranking.HIGH - 1)
        services.task_create(actor=actor, task_list=task_list, title="first", position=0)
        services.task_create(actor=actor, task_list=task_list, title="last")
        ranks = list(
            Task.objects.filter(list_id=task_list.id)
            .order_by("rank")
            .values_list("rank", flat=True)
        )
        assert _titles_in_rank_order(task_list.id) == ["first", "low", "high", "last"]
    assert all(ranking.LOW <= rank <= ranking.HIGH for rank in ranks), ranks
