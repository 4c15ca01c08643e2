"""Django admin on the root host, for operators (users with is_staff):
organizations, their domains and memberships, and the platform events.

It lives in provisioning (the top layer) because its actions call the
provisioning services; the models stay in shared_apps.orgs.

Same rules as the operator API: organizations are read-only here except
through the suspend / resume / delete actions, which call the provisioning
services (so the host cache is invalidated and a PlatformEvent is written);
custom domains and memberships are added, changed and removed through
services too (the last owner stays; the organization's own host moves only
with a rename).
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Count
from django.http import HttpResponse, HttpResponseRedirect
from django.template import RequestContext, Template
from django.utils.html import format_html

from platform_core.admin_access import (
    OperatorAdmin,
    ReadOnlyAdminMixin,
    ReadOnlyInline,
    is_operator,
)
from platform_core.errors import AppError
from provisioning import services
from shared_apps.orgs.models import Domain, Membership, Organization, OrgStatus, PlatformEvent
from shared_apps.orgs.services import member_change_allowed

LIVE = (OrgStatus.ACTIVE, OrgStatus.SUSPENDED)


class DomainInline(ReadOnlyInline):
    model = Domain
    fields = ("domain", "is_primary")


_CONFIRM_DELETE = Template(
    """{% extends "admin/base_site.html" %}
{% block content %}
<p>Delete these organizations? Their hosts stop answering at once, their slugs are freed,
and their schemas are dropped after {{ retention }} days.</p>
<ul>{% for org in orgs %}<li>{{ org.slug }} ({{ org.name }}, {{ org.status }})</li>{% endfor %}</ul>
<form method="post">{% csrf_token %}
{% for org in orgs %}<input type="hidden" name="_selected_action" value="{{ org.pk }}">{% endfor %}
<input type="hidden" name="action" value="delete_organizations">
<input type="hidden" name="confirm" value="yes">
<input type="submit" value="Yes, delete">
<a href="">No, go back</a>
</form>
{% endblock %}"""
)


@admin.register(Organization)
class OrganizationAdmin(ReadOnlyAdminMixin, OperatorAdmin):
    """Read-only: only the actions below change an organization."""

    list_display = ("slug", "name", "status", "members", "created_at", "deleted_at", "schema_name")
    list_filter = ("status",)
    search_fields = ("slug", "name", "deleted_slug", "schema_name", "=id")
    ordering = ("-created_at",)
    fields = (
        "id",
        "slug",
        "name",
        "status",
        "host",
        "schema_name",
        "created_at",
        "deleted_at",
        "deleted_slug",
        "schema_dropped_at",
    )
    readonly_fields = fields
    inlines = [DomainInline]
    actions = ["suspend_organizations", "resume_organizations", "delete_organizations"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_count=Count("memberships"))

    @admin.display(ordering="member_count", description="members")
    def members(self, org):
        return org.member_count

    @admin.display(description="host")
    def host(self, org):
        return format_html("<code>{}</code>", org.primary_domain) if org.primary_domain else "-"

    def _run(self, request, queryset, verb: str, service, statuses) -> None:
        done, skipped = [], []
        for org in queryset:
            if org.status not in statuses:
                skipped.append(str(org))
                continue
            try:
                service(org=org, actor_id=request.user.id, via="admin")
                done.append(str(org))
            except AppError as exc:
                skipped.append(f"{org} ({exc.detail})")
        if done:
            self.message_user(request, f"{verb}: {', '.join(done)}", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"not {verb}: {', '.join(skipped)}", messages.WARNING)

    @admin.action(description="Suspend selected organizations")
    def suspend_organizations(self, request, queryset):
        self._run(request, queryset, "suspended", services.org_suspend, (OrgStatus.ACTIVE,))

    @admin.action(description="Resume selected organizations")
    def resume_organizations(self, request, queryset):
        self._run(request, queryset, "resumed", services.org_resume, (OrgStatus.SUSPENDED,))

    @admin.action(description="Delete selected organizations")
    def delete_organizations(self, request, queryset):
        if request.POST.get("confirm") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": "Delete organizations",
                "orgs": [o for o in queryset if o.status in LIVE],
                "retention": settings.ORG_DELETE_RETENTION_DAYS,
                "opts": self.model._meta,
            }
            return HttpResponse(_CONFIRM_DELETE.render(RequestContext(request, context)))
        self._run(request, queryset, "deleted", services.org_delete, LIVE)
        return None


class DomainForm(forms.ModelForm):
    class Meta:
        model = Domain
        fields = ("tenant", "domain")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tenant"].queryset = Organization.objects.filter(status__in=LIVE).order_by(
            "slug"
        )
        self.fields["tenant"].label = "organization"

    def clean_domain(self):
        try:
            domain = services.validate_custom_domain(self.cleaned_data["domain"])
        except AppError as exc:
            raise forms.ValidationError(exc.detail) from None
        if Domain.objects.filter(domain=domain).exists():
            raise forms.ValidationError("This domain is taken.")
        return domain


@admin.register(Domain)
class DomainAdmin(OperatorAdmin):
    """Custom domains. The `{slug}.{BASE_DOMAIN}` host is managed by renames, not here."""

    form = DomainForm
    list_display = ("domain", "tenant", "is_primary")
    search_fields = ("domain", "tenant__slug")
    list_select_related = ("tenant",)

    def has_change_permission(self, request, obj=None):
        return False  # a changed domain is a removed one plus an added one

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.tenant.slug and obj.domain == obj.tenant.primary_domain:
            return False
        return is_operator(request)

    def save_model(self, request, obj, form, change):
        created = services.domain_add(
            org=form.cleaned_data["tenant"],
            domain=form.cleaned_data["domain"],
            actor_id=request.user.id,
        )
        obj.pk, obj.is_primary = created.pk, created.is_primary

    def delete_model(self, request, obj):
        services.domain_remove(domain=obj, actor_id=request.user.id)

    def delete_queryset(self, request, queryset):
        for domain in queryset.select_related("tenant"):
            try:
                services.domain_remove(domain=domain, actor_id=request.user.id)
            except AppError as exc:
                self.message_user(request, f"{domain.domain}: {exc.detail}", messages.WARNING)


class MembershipForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ("organization", "user", "role")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "organization" in self.fields:
            self.fields["organization"].queryset = Organization.objects.filter(
                status__in=LIVE
            ).order_by("slug")

    def clean(self):
        """A friendly form error for the rules of the membership service (the
        last owner stays); the service checks them again under its lock."""
        cleaned = super().clean()
        if self.instance.pk and cleaned.get("role"):
            try:
                member_change_allowed(membership=self.instance, role=cleaned["role"])
            except AppError as exc:
                raise forms.ValidationError(exc.detail) from None
        return cleaned

    def validate_unique(self):
        pass  # checked by membership_add (409 already_member) in save_model


@admin.register(Membership)
class MembershipAdmin(OperatorAdmin):
    form = MembershipForm
    list_display = ("organization", "user", "role", "joined_at")
    list_filter = ("role",)
    search_fields = ("user__email", "organization__slug")
    list_select_related = ("organization", "user")
    raw_id_fields = ("user",)

    def get_readonly_fields(self, request, obj=None):
        return ("organization", "user", "joined_at") if obj else ()

    def _refused(self, request, exc: AppError):
        """A change the membership service refused under its lock (the last owner,
        a membership removed meanwhile): a message, nothing written."""
        self.message_user(request, f"Nothing changed: {exc.detail}", messages.ERROR)
        return HttpResponseRedirect(request.get_full_path())

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except AppError as exc:
            return self._refused(request, exc)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except AppError as exc:
            return self._refused(request, exc)

    def save_model(self, request, obj, form, change):
        if change:
            services.membership_set_role(
                membership=obj, role=form.cleaned_data["role"], actor_id=request.user.id
            )
            return
        created = services.membership_add(
            org=form.cleaned_data["organization"],
            user=form.cleaned_data["user"],
            role=form.cleaned_data["role"],
            actor_id=request.user.id,
        )
        obj.pk = created.pk

    def delete_model(self, request, obj):
        services.membership_remove(membership=obj, actor_id=request.user.id)

    def delete_queryset(self, request, queryset):
        for membership in queryset:
            try:
                services.membership_remove(membership=membership, actor_id=request.user.id)
            except AppError as exc:
                self.message_user(request, f"{membership}: {exc.detail}", messages.WARNING)


@admin.register(PlatformEvent)
class PlatformEventAdmin(ReadOnlyAdminMixin, OperatorAdmin):
    """The platform audit trail: read-only (the table is append-only)."""

    list_display = ("at", "action", "organization_id", "actor_id", "request_id")
    list_filter = ("action",)
    search_fields = ("=organization_id", "=actor_id", "action")
    ordering = ("-at",)
    fields = ("id", "at", "action", "organization_id", "actor_id", "changes", "request_id")
    readonly_fields = fields
