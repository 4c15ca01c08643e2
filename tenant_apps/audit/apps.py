from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "tenant_apps.audit"
    label = "audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from shared_apps.orgs.models import Membership, Organization
        from tenant_apps.audit import receivers  # noqa: F401  (connects the organization's events)
        from tenant_apps.audit.targets import register_target

        register_target(Organization, "org")
        register_target(Membership, "member", id=lambda m: m.user_id)
