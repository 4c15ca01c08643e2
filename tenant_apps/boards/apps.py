from django.apps import AppConfig


class BoardsConfig(AppConfig):
    name = "tenant_apps.boards"
    label = "boards"
    default_auto_field = "django.db.models.BigAutoField"
