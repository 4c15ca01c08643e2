"""ASGI entry point: the live endpoints (server-sent events, WebSocket), and
every other route too, behind the streaming body limit (platform_core.body_limit).

In production plain API requests go to the WSGI entry point (platform_core.wsgi,
no thread hand-off per request); the reverse proxy sends only the live paths
here (ops/nginx.conf.template). Requests are dispatched to one of two
middleware stacks by host (platform_core.handlers)."""

import os

import django
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform_core.settings")
django.setup(set_prefix=False)

from platform_core.body_limit import BodyLimitMiddleware  # noqa: E402  # after django.setup()
from platform_core.handlers import ASGIHostDispatch  # noqa: E402

django_application = ASGIHostDispatch()
application = BodyLimitMiddleware(django_application, limit=settings.MAX_REQUEST_BYTES)
