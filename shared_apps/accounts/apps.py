from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "shared_apps.accounts"
    label = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # cycle: this app's models can only be imported once the app registry is ready
        from platform_core import ports
        from shared_apps.accounts import ports as ours

        ports.register(load_user=ours.load_user, session_owner=ours.session_owner)
