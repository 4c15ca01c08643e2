"""Two middleware stacks, chosen by the Host header before Django runs.

The root host serves the admin (and sign-up, login, operators): it needs
Django's sessions, CSRF, authentication, messages and frame options.
Organization hosts serve only the JSON API, authenticated by bearer tokens:
none of those apply, and running them costs every request. So each entry
point holds two Django handlers: one with settings.MIDDLEWARE (root host),
one with settings.ORG_HOST_MIDDLEWARE (every other host; the tenant
middleware there selects the organization or answers `unknown_host`).
Both end in the same URL confs and the same error envelope.
"""

from types import FunctionType
from typing import Any

import django.core.handlers.base
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.base import BaseHandler
from django.core.handlers.wsgi import WSGIHandler

from platform_core.tenancy import is_root_host, normalize_host


class _OrgHostSettings:
    """The settings as the organization hosts' handler loads them: MIDDLEWARE
    answers settings.ORG_HOST_MIDDLEWARE, every other name the real setting."""

    def __getattr__(self, name: str) -> Any:
        return getattr(settings, "ORG_HOST_MIDDLEWARE" if name == "MIDDLEWARE" else name)


# Django's BaseHandler.load_middleware, run with `settings` bound to the view
# above. The global settings are never changed, so a handler that another
# thread builds meanwhile (the test client builds its handler lazily) still
# gets settings.MIDDLEWARE.
_load_org_host_middleware = FunctionType(
    BaseHandler.load_middleware.__code__,
    {**vars(django.core.handlers.base), "settings": _OrgHostSettings()},
    "load_middleware",
    BaseHandler.load_middleware.__defaults__,
)


class OrgHostStack(BaseHandler):
    """A handler built from settings.ORG_HOST_MIDDLEWARE instead of settings.MIDDLEWARE."""

    def load_middleware(self, is_async: bool = False) -> None:
        _load_org_host_middleware(self, is_async)


class OrgHostWSGIHandler(OrgHostStack, WSGIHandler):
    pass


class OrgHostASGIHandler(OrgHostStack, ASGIHandler):
    pass


def serves_root_host(host: str) -> bool:
    return is_root_host(normalize_host(host))


class WSGIHostDispatch:
    def __init__(self) -> None:
        self.root = WSGIHandler()
        self.org = OrgHostWSGIHandler()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
        return (self.root if serves_root_host(host) else self.org)(environ, start_response)


class ASGIHostDispatch:
    def __init__(self) -> None:
        self.root = ASGIHandler()
        self.org = OrgHostASGIHandler()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.root(scope, receive, send)  # lifespan: Django's handler refuses it
            return
        host = next((value for name, value in scope["headers"] if name == b"host"), b"")
        handler = self.root if serves_root_host(host.decode("latin-1")) else self.org
        await handler(scope, receive, send)
