from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "shared_apps.orgs"
    label = "orgs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # cycle: this app's models can only be imported once the app registry is ready
        from platform_core import ports
        from shared_apps.orgs import ports as ours
        from shared_apps.orgs import signals  # noqa: F401  (connects the receivers)

        ports.register(load_role=ours.load_role, load_host=ours.load_host, schema_is_live=ours.schema_is_live)
