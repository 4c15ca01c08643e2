from django.apps import AppConfig


class TokensConfig(AppConfig):
    name = "tenant_apps.tokens"
    label = "tokens"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # cycle: app modules import models, which need the app registry ready
        from platform_core import ports
        from tenant_apps.audit.targets import register_target
        from tenant_apps.tokens import receivers  # noqa: F401  (revokes a leaving member's tokens)
        from tenant_apps.tokens.models import ApiToken
        from tenant_apps.tokens.selectors import token_for_auth, token_touch

        register_target(ApiToken, "token")
        ports.register(load_api_token=token_for_auth, touch_api_token=token_touch)
