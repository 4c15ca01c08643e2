"""ASGI entry point of the floor: granian --interface asgi bench.floor.asgi:application"""

import os

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.floor.settings"

from django.core.asgi import get_asgi_application  # noqa: E402

application = get_asgi_application()
