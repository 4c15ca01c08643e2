"""API tokens for tests: made through the service (as the API does), secret returned."""

from uuid import UUID

from django.db import connection
from django_tenants.utils import schema_context


def make_token(org_world_or_org, user, scopes=("read", "write", "manage", "audit"), **extra) -> tuple[str, str]:
    """(secret, token id) of a new API token of `user` in the organization."""
    from platform_core.auth import Actor
    from shared_apps.orgs.models import Membership
    from tenant_apps.tokens.services import token_create

    org = getattr(org_world_or_org, "org", org_world_or_org)
    role = Membership.objects.get(organization=org, user=user).role
    actor = Actor(user_id=UUID(str(user.id)), email=user.email, name=user.name, org_id=UUID(str(org.id)), role=role)
    with schema_context(org.schema_name):
        token, raw = token_create(actor=actor, name="test", scopes=list(scopes), **extra)
    assert connection.schema_name == "public"
    return raw, str(token.id)
