"""The named enums of the schema (platform_core.openapi.ENUMS) list exactly the
values the code accepts and stores, in the same order.

A value added in code but not in ENUMS no longer matches the name: the enum is
then inlined in the document and generated clients lose the type (issue of
`updated_at` in GET /tasks `ordering`: `TaskOrdering` vanished from the client).
"""

from typing import get_args

import pytest

from platform_core.openapi import ENUMS
from platform_core.permissions import Role
from shared_apps.orgs.models import OrgStatus
from tenant_apps.boards.models import Priority, TaskStatus
from tenant_apps.boards.schemas import PriorityIn, TaskFilters, TaskOrdering


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("Role", Role.values),
        ("TaskStatus", TaskStatus.values),
        ("Priority", Priority.values),
        ("Priority", list(get_args(PriorityIn))),
        ("TaskOrdering", list(get_args(TaskOrdering))),
        ("OrgStatus", OrgStatus.values),
    ],
)
def test_named_enum_matches_the_code(name, values):
    assert ENUMS[name] == values


def test_task_list_ordering_is_the_named_enum():
    assert TaskFilters.model_fields["ordering"].annotation == TaskOrdering
