"""The admin's login page, throttled like `POST /auth/token` (wired in
platform_core/urls_public.py; it lives here because the throttle is this
app's `LoginGuard`)."""

from django.contrib import admin
from django.http import HttpResponse

from platform_core.admin_access import is_operator
from platform_core.context import current_client_ip
from platform_core.errors import RateLimited, ServiceUnavailable
from shared_apps.accounts.services import LoginGuard


def admin_login(request, extra_context=None):
    """The admin's login page behind the same throttle as `POST /auth/token`
    (LoginGuard): per client IP, per (email,
    client IP) failures, platform-wide. Refused: 429 with Retry-After, before
    any password is hashed."""
    if request.method != "POST":
        return admin.site.login(request, extra_context)
    try:
        guard = LoginGuard(email=str(request.POST.get("username", "")), client_ip=current_client_ip())
        response = admin.site.login(request, extra_context)
    except (RateLimited, ServiceUnavailable) as exc:
        refused = HttpResponse(exc.detail, status=exc.status, content_type="text/plain; charset=utf-8")
        refused["Retry-After"] = str(exc.retry_after)
        return refused
    signed_in = response.status_code in (301, 302) and is_operator(request)
    if not signed_in:
        guard.failed()
    return response
