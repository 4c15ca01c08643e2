"""Settings of the stack's floor (bench/floor): Django with nothing but a URL conf.

No installed apps, no middleware, no database, no cache: what is left of a
request is the server (granian), the interface (Django's WSGI or ASGI
handler), URL resolution and one JsonResponse. bench/run serves it with the
same granian command, interface and workers as the API, so every endpoint's
figure can be read as a multiple of this one.
"""

import os

SECRET_KEY = os.environ.get("SECRET_KEY", "bench-floor-not-secret")
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "bench.floor.urls"
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
DATABASES: dict = {}
USE_TZ = True
LOGGING_CONFIG = None  # no logging setup: the floor logs nothing per request
