"""WSGI entry point of the floor: granian --interface wsgi bench.floor.wsgi:application"""

import os

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.floor.settings"

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
