"""ASGI entry point: Django behind the streaming body limit (platform_core.body_limit)."""

import os

from django.conf import settings
from django.core.asgi import get_asgi_application

from platform_core.body_limit import BodyLimitMiddleware

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform_core.settings")
django_application = get_asgi_application()
application = BodyLimitMiddleware(django_application, limit=settings.MAX_REQUEST_BYTES)
