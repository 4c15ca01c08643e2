from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "shared_apps.orgs"
    label = "orgs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from shared_apps.orgs import signals  # noqa: F401
