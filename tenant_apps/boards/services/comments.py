"""Comments on tasks: add, edit, delete."""

from uuid import UUID

from django.db import transaction
from django.utils import timezone

from platform_core.auth import Actor
from platform_core.errors import NotFound
from tenant_apps.audit.services import diff, snapshot
from tenant_apps.boards.models import Comment, Task
from tenant_apps.boards.services._common import delete_recorded, record, record_created

COMMENT_FIELDS = ("task_id", "body")


@transaction.atomic
def comment_create(*, actor: Actor, task: Task, body: str) -> Comment:
    # Keep the task from being deleted before this commits (its foreign key is checked then).
    if (
        Task.objects.select_for_update(no_key=True).filter(id=task.id).values_list("id").first()
        is None
    ):
        raise NotFound("No such task.")
    comment = Comment.objects.create(task=task, author_id=actor.user_id, body=body)
    record_created(actor, "comment.created", comment, COMMENT_FIELDS, boards=[task.board_id])
    return comment


def _lock_comment(comment_id: UUID) -> Comment:
    comment = (
        Comment.objects.select_for_update(of=("self",))
        .select_related("task")
        .filter(id=comment_id)
        .first()
    )
    if comment is None:
        raise NotFound("No such comment.")
    return comment


@transaction.atomic
def comment_update(*, actor: Actor, comment: Comment, body: str) -> Comment:
    comment = _lock_comment(comment.id)
    if comment.body == body:
        return comment
    before = snapshot(comment, COMMENT_FIELDS)
    comment.body = body
    comment.updated_at = timezone.now()
    comment.save(update_fields=["body", "updated_at"])
    record(
        actor,
        "comment.updated",
        comment,
        diff(before, snapshot(comment, COMMENT_FIELDS)),
        boards=[comment.task.board_id],
    )
    return comment


@transaction.atomic
def comment_delete(*, actor: Actor, comment: Comment) -> None:
    comment = _lock_comment(comment.id)
    delete_recorded(
        actor, "comment.deleted", comment, COMMENT_FIELDS, boards=[comment.task.board_id]
    )
