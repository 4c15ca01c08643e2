from django.apps import AppConfig


class PlatformCoreConfig(AppConfig):
    name = "platform_core"
    label = "platform_core"
    default_auto_field = "django.db.models.BigAutoField"
