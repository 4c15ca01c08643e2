"""WSGI entry point: the API's plain requests (granian --interface wsgi; ops/run).

Live endpoints (server-sent events, WebSocket) are served by the ASGI entry
point (platform_core.asgi) behind the same public port: the reverse proxy
routes them there (ops/nginx.conf.template). Requests are dispatched to one
of two middleware stacks by host (platform_core.handlers)."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform_core.settings")
django.setup(set_prefix=False)

from platform_core.handlers import WSGIHostDispatch  # noqa: E402  # after django.setup()

application = WSGIHostDispatch()
