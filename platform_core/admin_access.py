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

