from django.apps import AppConfig


class InvitesConfig(AppConfig):
    name = "tenant_apps.invites"
    label = "invites"
    default_auto_field = "django.db.models.BigAutoField"
