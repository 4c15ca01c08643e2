from django.apps import AppConfig


class BoardsConfig(AppConfig):
    name = "tenant_apps.boards"
    label = "boards"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tenant_apps.audit.targets import register_target
        from tenant_apps.boards.models import Board, Comment, Task, TaskList

        register_target(Board, "board", board=lambda b: b.id)
        register_target(TaskList, "list", board=lambda tl: tl.board_id)
        register_target(Task, "task", board=lambda t: t.board_id)
        register_target(Comment, "comment", board=lambda c: c.task.board_id)
