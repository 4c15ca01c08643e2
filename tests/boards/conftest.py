"""Fixtures for boards tests: seeded boards in an organization's schema,
look-alike data in organization B, audit helpers."""

from dataclasses import dataclass, field

import pytest
from django_tenants.utils import schema_context
from model_bakery import baker


@dataclass
class Seeded:
    board: object
    lists: list = field(default_factory=list)
    tasks: list = field(default_factory=list)  # tasks[i] = tasks of lists[i], in order

    @property
    def all_tasks(self) -> list:
        return [task for tasks in self.tasks for task in tasks]


def in_org(org_world):
    """Context manager: the ORM works in that organization's schema."""
    return schema_context(org_world.org.schema_name)


def seed_board(
    org_world, *, name="Roadmap", lists=("To do", "Doing", "Done"), tasks=2, **task_fields
) -> Seeded:
    """A board with lists and `tasks` tasks per list, created by the owner, via the recipes."""
    owner_id = org_world.owner.id
    created_by = task_fields.pop("created_by", owner_id)
    with in_org(org_world):
        board = baker.make_recipe("boards.board", name=name, created_by=owner_id)
        seeded = Seeded(board=board)
        for list_name in lists:
            task_list = baker.make_recipe("boards.task_list", board=board, name=list_name)
            seeded.lists.append(task_list)
            seeded.tasks.append(
                [
                    baker.make_recipe(
                        "boards.task",
                        board=board,
                        list=task_list,
                        title=f"{list_name} #{i}",
                        created_by=created_by,
                        **task_fields,
                    )
                    for i in range(tasks)
                ]
            )
    return seeded


def audit_events(org_world, **filters) -> list:
    from tenant_apps.audit.models import AuditEvent

    with in_org(org_world):
        return list(AuditEvent.objects.filter(**filters).order_by("at", "id"))


@pytest.fixture
def lookalike(world):
    """Organization B holds a board that looks like A's: same names, same positions."""
    return seed_board(world.b, name="Roadmap", tasks=3)


@pytest.fixture
def seeded(world, lookalike):
    """Organization A's board (3 lists × 2 tasks), with B's look-alike present."""
    return seed_board(world.a, name="Roadmap")
