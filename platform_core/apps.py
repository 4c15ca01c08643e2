from django.apps import AppConfig


class PlatformCoreConfig(AppConfig):
    name = "platform_core"
    label = "platform_core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from platform_core.cache import (
            install_fresh_queryset_cache,  # cycle: cacheops needs the app registry
        )

        install_fresh_queryset_cache()
