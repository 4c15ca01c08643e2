from django.contrib import admin

from shared_apps.accounts.models import User


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ("email", "name", "is_staff", "is_active", "date_joined")
    search_fields = ("email", "name")
    readonly_fields = ("id", "password", "last_login", "date_joined")
    fields = ("id", "email", "name", "is_active", "is_staff", "is_superuser", "password", "last_login", "date_joined")
