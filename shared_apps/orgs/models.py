import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_tenants.models import DomainMixin, TenantMixin

from platform_core.permissions import Role  # the one Role enum (also imported from here)


def new_schema_name() -> str:
    """Opaque schema name, independent of the slug (slugs can change; hosts have no '_')."""
    return "t_" + uuid.uuid4().hex


class OrgStatus(models.TextChoices):
    SPARE = "spare"  # a migrated, unclaimed schema in the provisioning pool
    ACTIVE = "active"
    SUSPENDED = "suspended"
    DELETED = "deleted"  # tombstone; the schema is dropped after the retention period


class Organization(TenantMixin):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, blank=True)
    slug = models.CharField(max_length=40, unique=True, null=True, blank=True)
    status = models.CharField(max_length=16, choices=OrgStatus.choices, default=OrgStatus.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)
    schema_dropped_at = models.DateTimeField(null=True, blank=True)
    # A deleted organization frees its slug for reuse; the tombstone keeps it here.
    deleted_slug = models.CharField(max_length=40, blank=True, default="")

    auto_create_schema = True
    auto_drop_schema = False
    # What GET /org shows that can change: its ETag (platform_core.etags.etag_for).
    ETAG_FIELDS = ("name", "slug")

    class Meta:
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return self.slug or self.schema_name

    @property
    def primary_domain(self) -> str:
        return f"{self.slug}.{settings.BASE_DOMAIN}" if self.slug else ""


class Domain(DomainMixin):
    """A host that selects an organization: `{slug}.{BASE_DOMAIN}` or a custom domain."""


class Membership(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="membership_unique")
        ]
        indexes = [models.Index(fields=["organization", "joined_at", "id"])]

    def __str__(self) -> str:
        return f"{self.user_id} is {self.role} of {self.organization_id}"


class PlatformEvent(models.Model):
    """Operator- and platform-level audit (organization created, suspended, ...).

    Append-only: a database trigger rejects UPDATE and DELETE.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_id = models.UUIDField(null=True, blank=True)
    action = models.CharField(max_length=64)
    organization_id = models.UUIDField(null=True, blank=True, db_index=True)
    changes = models.JSONField(default=dict)
    request_id = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"{self.action} ({self.organization_id}) at {self.at:%Y-%m-%dT%H:%M:%SZ}"
