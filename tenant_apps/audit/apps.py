from django.apps import AppConfig, apps


class AuditConfig(AppConfig):
    name = "tenant_apps.audit"
    label = "audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # cycle: app modules import models, which need the app registry ready
        from tenant_apps.audit import receivers  # noqa: F401  (connects the organization's events)
        from tenant_apps.audit.targets import register_target

        # The public models by label: tenant apps use shared_apps' models only through its services.
        register_target(apps.get_model("orgs", "Organization"), "org")
        register_target(apps.get_model("orgs", "Membership"), "member", id=lambda m: m.user_id)
