"""URLs of organization hosts ({slug}.BASE_DOMAIN and custom domains)."""

from django.urls import path

from platform_core.api import tenant_api
from platform_core.health import healthz, readyz

urlpatterns = [
    path("healthz", healthz),
    path("readyz", readyz),
    path("api/v1/", tenant_api.urls),
]

handler400 = "platform_core.views.bad_request"
handler403 = "platform_core.views.permission_denied"
handler404 = "platform_core.views.not_found"
handler500 = "platform_core.views.server_error"
