"""Who may use the Django admin (root host): operators, as the permission
matrix says (Action.PLATFORM_ACCESS). One place for the read-only variants."""

from django.contrib import admin

from platform_core import permissions


def is_operator(request) -> bool:
    return permissions.is_operator(request.user)


class OperatorAdmin(admin.ModelAdmin):
    """Operators may use it; Django's per-model permissions are not needed."""

    def has_module_permission(self, request):
        return is_operator(request)

    def has_view_permission(self, request, obj=None):
        return is_operator(request)

    def has_add_permission(self, request):
        return is_operator(request)

    def has_change_permission(self, request, obj=None):
        return is_operator(request)

    def has_delete_permission(self, request, obj=None):
        return is_operator(request)


class ReadOnlyAdminMixin:
    """Nothing here adds, changes or deletes (put it before OperatorAdmin)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    """A list of related rows that operators see but change elsewhere."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return is_operator(request)


def admin_login(request, extra_context=None):
    """The admin's login page behind the same throttle as `POST /auth/token`
    (shared_apps.accounts.services.LoginGuard): per client IP, per (email,
    client IP) failures, platform-wide. Refused: 429 with Retry-After, before
    any password is hashed."""
    from django.http import HttpResponse

    from platform_core.context import current_client_ip
    from platform_core.errors import RateLimited, ServiceUnavailable
    from shared_apps.accounts.services import LoginGuard

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
