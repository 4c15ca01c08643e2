"""Boards, their lists, tasks and comments: tables in each organization's schema.

Users are referenced by plain UUID columns (`assignee_id`, `created_by`,
`author_id`): users live in the public schema, and no query here joins a
public table (cacheops caches these tables per schema).

Order within a board (lists) and within a list (tasks) is a gapped integer
`rank` (see tenant_apps.boards.ranking); the API's `position` is the 0-based
index derived from it. `(board, rank)` and `(list, rank)` are unique,
deferrable initially deferred, so a renumbering can shuffle ranks inside one
transaction.
"""

import uuid
from typing import Any

from django.db import models
from django.utils import timezone


class Board(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, default="")
    created_by = models.UUIDField()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    # Set by selectors.board_detail (not a column).
    ordered_lists: list["TaskList"]

    class Meta:
        indexes = [models.Index(fields=["created_at", "id"], name="board_created_idx")]

    def __str__(self) -> str:
        return self.name


class TaskList(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Indexed by the unique (board, rank).
    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="lists", db_index=False)
    name = models.CharField(max_length=100)
    rank = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    # Set by selectors.board_detail (not columns; `position` is left to the
    # django-stubs plugin, which types the `annotate(position=...)` querysets).
    task_count: int
    ordered_tasks: list["Task"]
    tasks_next_cursor: str | None

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["board", "rank"],
                name="tasklist_board_rank_uniq",
                deferrable=models.Deferrable.DEFERRED,
            ),
            # Target of the composite foreign key task(list_id, board_id) (migration 0002).
            models.UniqueConstraint(fields=["id", "board"], name="tasklist_id_board_uniq"),
        ]

    def __str__(self) -> str:
        return self.name


class TaskStatus(models.TextChoices):
    OPEN = "open"
    DONE = "done"


class Priority(models.TextChoices):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"


# `ordering=priority` sorts the most urgent first.
PRIORITY_RANK = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.MEDIUM: 2, Priority.LOW: 3}


class Task(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Denormalised from list.board (filters, output); a composite foreign key
    # (list_id, board_id) -> tasklist(id, board_id) keeps it consistent.
    # Indexed by task_board_idx and the unique (list, rank).
    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="tasks", db_index=False)
    list = models.ForeignKey(
        TaskList, on_delete=models.CASCADE, related_name="tasks", db_index=False
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    status = models.CharField(max_length=8, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.MEDIUM)
    assignee_id = models.UUIDField(null=True, blank=True)
    created_by = models.UUIDField()
    due_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    rank = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["list", "rank"],
                name="task_list_rank_uniq",
                deferrable=models.Deferrable.DEFERRED,
            ),
        ]
        indexes = [
            # list filter / position ordering: the unique (list, rank) index.
            models.Index(fields=["board", "list", "rank"], name="task_board_idx"),
            models.Index(fields=["assignee_id", "status"], name="task_assignee_idx"),
            models.Index(fields=["status", "priority"], name="task_status_idx"),
            models.Index(fields=["priority", "created_at"], name="task_priority_idx"),
            models.Index(fields=["due_at"], name="task_due_idx"),
            models.Index(fields=["-created_at", "-id"], name="task_created_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Fixtures may give only the list; services always set both.
        if self.board_id is None and self.list_id is not None:
            self.board_id = TaskList.objects.values_list("board_id", flat=True).get(id=self.list_id)
        super().save(*args, **kwargs)


class Comment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Indexed by comment_task_idx.
    task = models.ForeignKey(
        Task, on_delete=models.CASCADE, related_name="comments", db_index=False
    )
    author_id = models.UUIDField()
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["task", "created_at", "id"], name="comment_task_idx")]

    def __str__(self) -> str:
        return self.body[:40]
