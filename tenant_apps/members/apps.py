from django.apps import AppConfig


class MembersConfig(AppConfig):
    """The organization and its members, as seen from the organization's host.

    No models: organizations and memberships live in the public schema
    (shared_apps.orgs); this app is only their HTTP layer on organization hosts,
    calling shared_apps.orgs' services and selectors."""

    name = "tenant_apps.members"
    label = "members"
    default_auto_field = "django.db.models.BigAutoField"
