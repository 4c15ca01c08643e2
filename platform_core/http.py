"""The request as our middleware and authenticators leave it, for type checking.

Django's `HttpRequest` knows nothing of the attributes we add:
`RequestContextMiddleware` sets `request_id` and `client_ip`, `TenantMiddleware`
sets `tenant`, the Ninja authenticators set `user_auth` (and, on organization
hosts, `actor`) and Ninja sets `auth` to what the authenticator returned.
Handlers annotate their request as `AppRequest` (root host) or `OrgRequest`
(organization hosts); Ninja finds the request parameter by name, not by
annotation, so this changes nothing at run time. Nothing instantiates them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import HttpRequest

if TYPE_CHECKING:
    from platform_core.auth import Actor, AuthUser
    from platform_core.middleware import PublicTenant
    from shared_apps.orgs.models import Organization


class AppRequest(HttpRequest):
    request_id: str
    client_ip: str | None
    tenant: Organization | PublicTenant
    user_auth: AuthUser
    # Set by Ninja: the authenticator's result (an Actor or an AuthUser).
    auth: Any


class OrgRequest(AppRequest):
    """A request on an organization host (its handlers are mounted only there)."""

    tenant: Organization
    # Set by `member_auth`; handlers behind `jwt_auth` only have `user_auth`.
    actor: Actor
