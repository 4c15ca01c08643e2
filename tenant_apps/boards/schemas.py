"""Input and output schemas of boards, lists, tasks and comments (explicit fields).

PATCH schemas change only the fields present in the body. A non-nullable
field is declared `str = Field(None, ...)`: absent means "unchanged", and an
explicit null fails validation (pydantic does not validate the default).
For the text fields that may be empty (`description`), null clears them
(stored and returned as ""); for `due_at`, null clears the due date.
Naive datetimes are taken as UTC.
"""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from ninja import Field, Schema
from pydantic import AfterValidator, StringConstraints, field_validator

from platform_core.schemas import (
    JSON_INTEGER,
    NOT_BLANK,
    InputSchema,
    Timestamp,
    documented_pattern,
    not_blank,
)
from tenant_apps.boards.models import Priority, TaskStatus

UtcDatetime = Timestamp
# Lengths count the text as sent (then it is stripped), as the schema states them.
BoardName = Annotated[
    str, StringConstraints(min_length=1, max_length=100), AfterValidator(not_blank), documented_pattern(NOT_BLANK)
]
ListName = BoardName
TaskTitle = Annotated[
    str, StringConstraints(min_length=1, max_length=200), AfterValidator(not_blank), documented_pattern(NOT_BLANK)
]
LongText = Annotated[str, StringConstraints(max_length=10000)]
PriorityIn = Literal["low", "medium", "high", "urgent"]
Position = Annotated[
    int,
    Field(ge=-(2**31), le=2**31, description="0-based index; clamped to [0, length]."),
    JSON_INTEGER,  # a JSON integer: no true/false, "3" or 3.5
]


class _ClearsDescription(InputSchema):
    @field_validator("description", mode="after", check_fields=False)
    @classmethod
    def _null_is_empty(cls, value: str | None) -> str:
        return value or ""


# --- boards -----------------------------------------------------------------------


class BoardCreateIn(_ClearsDescription):
    name: BoardName
    description: LongText | None = ""


class BoardUpdateIn(_ClearsDescription):
    # Update fields below may be absent (unchanged) but not null (422): not `| None`.
    name: BoardName = Field(None)  # type: ignore[assignment]  # optional, never null
    description: LongText | None = Field(None, description="null clears it.")


class BoardOut(Schema):
    id: UUID
    name: str
    description: str
    created_at: datetime
    updated_at: datetime


# --- lists ------------------------------------------------------------------------


class ListCreateIn(InputSchema):
    name: ListName
    position: Position | None = None


class ListUpdateIn(InputSchema):
    name: ListName = Field(None)  # type: ignore[assignment]  # optional, never null
    position: Position = Field(None, description="Move the list to this 0-based index.")  # type: ignore[assignment]


class ListOut(Schema):
    id: UUID
    board_id: UUID
    name: str
    position: int
    created_at: datetime


# --- tasks ------------------------------------------------------------------------


class TaskCreateIn(_ClearsDescription):
    list_id: UUID
    title: TaskTitle
    description: LongText | None = ""
    assignee_id: UUID | None = None
    priority: PriorityIn = Priority.MEDIUM.value  # type: ignore[assignment]  # "medium"
    due_at: UtcDatetime | None = None
    position: Position | None = Field(
        None, description="0-based index in the list; default: the end."
    )


class TaskUpdateIn(_ClearsDescription):
    """Title, description, priority and due date. Status, assignee and list have
    their own operations (complete/reopen, assign, move)."""

    title: TaskTitle = Field(None)  # type: ignore[assignment]  # optional, never null
    description: LongText | None = Field(None, description="null clears it.")
    priority: PriorityIn = Field(None)  # type: ignore[arg-type]  # optional, never null
    due_at: UtcDatetime | None = Field(None, description="null clears it.")


class TaskAssignIn(InputSchema):
    assignee_id: UUID | None = Field(
        ..., description="A member of this organization; null unassigns."
    )


class TaskMoveIn(InputSchema):
    list_id: UUID = Field(..., description="A list of the same board.")
    position: Position | None = Field(
        None, description="0-based index in that list; default: the end."
    )


class TaskOut(Schema):
    id: UUID
    board_id: UUID
    list_id: UUID
    title: str
    description: str
    status: TaskStatus
    priority: Priority
    assignee_id: UUID | None
    created_by: UUID
    due_at: datetime | None
    position: int
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime


TaskOrdering = Literal["position", "due_at", "-created_at", "priority", "updated_at"]


class TaskFilters(InputSchema):
    board_id: UUID | None = None
    list_id: UUID | None = None
    assignee_id: UUID | Literal["me"] | None = Field(None, description="A user id, or `me`.")
    status: Literal["open", "done"] | None = None
    priority: PriorityIn | None = None
    due_before: UtcDatetime | None = Field(None, description="due_at < due_before.")
    due_after: UtcDatetime | None = Field(None, description="due_at >= due_after.")
    q: str | None = Field(
        None, max_length=200, description="Case-insensitive search in title and description."
    )
    updated_since: UtcDatetime | None = Field(
        None, description="Tasks changed strictly after this time (updated_at > updated_since)."
    )
    ordering: TaskOrdering = Field(
        "position",
        description="`position` (board, list order, then position in the list), `due_at` "
        "(soonest first, undated last), `-created_at` (newest first), `priority` (urgent first), "
        "`updated_at` (least recently changed first; with `updated_since` for syncing).",
    )


# --- board detail ---------------------------------------------------------------------
# The API serves the board detail from plain data (selectors.board_detail) with
# exactly the bytes these schemas give from ORM objects; they document the
# response and are the oracle of tests/boards/test_rendering.py.


class BoardListOut(Schema):
    id: UUID
    name: str
    position: int
    tasks: list[TaskOut] = Field(
        ...,
        description="The list's first tasks in order, at most BOARD_DETAIL_TASKS_PER_LIST (default 100).",
    )
    task_count: int = Field(..., description="How many tasks the list holds.")
    tasks_next_cursor: str | None = Field(
        ...,
        description="When `tasks` is not all of them: the `cursor` for "
        "`GET /tasks?list_id=<this list>` that returns the rest; null otherwise.",
    )

    @staticmethod
    def resolve_tasks(obj) -> list:
        return obj.ordered_tasks  # a TaskList with `ordered_tasks` (the ORM rendering; see selectors.board_detail)


class BoardDetailOut(BoardOut):
    lists: list[BoardListOut]

    @staticmethod
    def resolve_lists(obj) -> list:
        return obj.ordered_lists  # a Board with `ordered_lists` (the ORM rendering; see selectors.board_detail)


# --- comments -------------------------------------------------------------------------


class CommentBody(InputSchema):
    body: Annotated[
        str, StringConstraints(min_length=1, max_length=10000), documented_pattern(NOT_BLANK)
    ]

    @field_validator("body")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("A comment cannot be blank.")
        return value


class CommentCreateIn(CommentBody):
    pass


class CommentUpdateIn(CommentBody):
    pass


class CommentOut(Schema):
    id: UUID
    task_id: UUID
    author_id: UUID
    body: str
    created_at: datetime
    updated_at: datetime
