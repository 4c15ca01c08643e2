from django.contrib import admin

from platform_core.admin_access import ReadOnlyInline, is_operator
from shared_apps.accounts.models import User
from shared_apps.accounts.services import user_deactivate
from shared_apps.orgs.models import Membership


class MembershipInline(ReadOnlyInline):
    """The user's organizations (edit memberships in the Memberships admin: it keeps the rules)."""

    model = Membership
    fields = ("organization", "role", "joined_at")


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ("email", "name", "is_staff", "is_active", "date_joined")
    list_filter = ("is_staff", "is_active")
    search_fields = ("email", "name")
    readonly_fields = ("id", "password", "last_login", "date_joined")
    fields = (
        "id",
        "email",
        "name",
        "is_active",
        "is_staff",
        "is_superuser",
        "password",
        "last_login",
        "date_joined",
    )
    inlines = [MembershipInline]

    def has_module_permission(self, request):
        return is_operator(request)

    def has_view_permission(self, request, obj=None):
        # Operators see users; changing them needs Django's own permission (superusers).
        return is_operator(request) or super().has_view_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields += ("is_staff", "is_superuser")  # only superusers make operators
        return fields

    def save_model(self, request, obj, form, change):
        """Deactivation goes through the service: sessions end, invites are revoked."""
        deactivating = change and "is_active" in form.changed_data and not obj.is_active
        if deactivating:
            obj.is_active = True
        super().save_model(request, obj, form, change)
        if deactivating:
            user_deactivate(user=obj, actor_id=request.user.id)
