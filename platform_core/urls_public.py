"""URLs of the root host (BASE_DOMAIN): the platform API, operators' admin, health."""

from django.contrib import admin
from django.urls import path

from platform_core.api import org_openapi, public_api
from platform_core.health import healthz, readyz
from shared_apps.accounts.views import admin_login

urlpatterns = [
    path("healthz", healthz),
    path("readyz", readyz),
    path("api/v1/org-openapi.json", org_openapi),
    path("api/v1/", public_api.urls),
    path("admin/login/", admin_login),  # throttled like POST /auth/token
    path("admin/", admin.site.urls),
]

handler400 = "platform_core.views.bad_request"
handler403 = "platform_core.views.permission_denied"
handler404 = "platform_core.views.not_found"
handler500 = "platform_core.views.server_error"
