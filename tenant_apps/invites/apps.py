from django.apps import AppConfig


class InvitesConfig(AppConfig):
    name = "tenant_apps.invites"
    label = "invites"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tenant_apps.audit.targets import register_target
        from tenant_apps.invites import receivers  # noqa: F401  (revokes invites on membership changes)
        from tenant_apps.invites.models import Invite

        register_target(Invite, "invite")
