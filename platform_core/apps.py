from django.apps import AppConfig


class PlatformCoreConfig(AppConfig):
    name = "platform_core"
    label = "platform_core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # cycle: platform_core.cache imports cacheops, which needs the app registry
        from platform_core.cache import install_fresh_queryset_cache

        install_fresh_queryset_cache()
