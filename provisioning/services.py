"""Organization lifecycle for the platform and its operators.

- Creating organizations: claim a ready spare schema from the pool in one
  short transaction, or (pool empty) create and migrate one synchronously.
- Operator actions: suspend, resume, delete (tombstone), rename, and the
  scheduled drop of deleted organizations' schemas.
- Custom domains and memberships edited by operators (Django admin).

Every write here saves through the model (never a bulk `.update()`), so the
signals in shared_apps.orgs.signals invalidate the host and member caches,
and every operator action records a PlatformEvent in the same transaction.
"""

import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
from django.conf import settings
from django.db import (
    DEFAULT_DB_ALIAS,
    IntegrityError,
    OperationalError,
    connection,
    connections,
    transaction,
)
from django.db.models import Q
from django.utils import timezone
from django_tenants.utils import schema_context

from platform_core.context import current_request_id
from platform_core.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited
from platform_core.jobs import SCHEMA_META, get_queue
from platform_core.throttle import check_rate
from shared_apps.accounts.models import User, normalize_email
from shared_apps.orgs.models import (
    Domain,
    Membership,
    Organization,
    OrgStatus,
    PlatformEvent,
    Role,
    new_schema_name,
)
from shared_apps.orgs.services import (
    member_add,
    member_add_as_operator,
    member_remove_as_operator,
    member_set_role_as_operator,
    members_drop_all,
)
from shared_apps.orgs.validation import validate_org_name, validate_slug

log = logging.getLogger("provisioning")

# pg_advisory_lock keys (any 64-bit integers unique to their purpose).
SPARE_POOL_LOCK = 7_401_263_001
FLEET_MIGRATION_LOCK = 7_401_263_002
SCHEMA_DROP_LOCK = 7_401_263_003

REFILL_JOB = "provisioning.jobs.refill_spare_pool"


# --- helpers ----------------------------------------------------------------------


def _host_for(slug: str) -> str:
    return f"{slug}.{settings.BASE_DOMAIN}"


def platform_event(
    *, actor_id: UUID | str | None, action: str, org: Organization | None, changes: dict[str, Any] | None = None
) -> PlatformEvent:
    return PlatformEvent.objects.create(
        actor_id=actor_id,
        action=action,
        organization_id=org.id if org else None,
        changes=changes or {},
        request_id=current_request_id() or "",
    )


@contextmanager
def advisory_lock(key: int, *, wait_seconds: float = 0.0) -> Iterator[bool]:
    """A PostgreSQL session advisory lock held on a connection of its own.

    Its own connection, because django-tenants' migration runner closes
    Django's connection after each schema (which would drop a session lock).
    Yields whether the lock was acquired within `wait_seconds`; a crashed
    holder's lock goes away with its connection.
    """
    params = connections[DEFAULT_DB_ALIAS].get_connection_params()
    for django_only in ("context", "cursor_factory", "prepare_threshold"):
        params.pop(django_only, None)
    with psycopg.connect(**params, autocommit=True) as conn:
        deadline = time.monotonic() + wait_seconds
        while True:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()
            assert row is not None  # a SELECT of one value: one row
            acquired = row[0]
            if acquired or time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        try:
            yield acquired
        finally:
            if acquired:
                conn.execute("SELECT pg_advisory_unlock(%s)", [key])


# --- the spare-schema pool -----------------------------------------------------------


def spare_create() -> Organization:
    """A new, fully migrated, unclaimed schema.

    Row, schema and migrations commit together: claimers never see a spare
    whose schema is still being migrated, and a failure leaves nothing behind.
    """
    with transaction.atomic():
        org = Organization(schema_name=new_schema_name(), status=OrgStatus.SPARE)
        org.auto_create_schema = False  # created below, inside this transaction
        org.save()
        org.create_schema(check_if_exists=False, verbosity=0)
    return org


def spare_count() -> int:
    count: int = Organization.objects.filter(status=OrgStatus.SPARE).count()
    return count


def spare_pool_refill(*, target: int | None = None, wait_seconds: float = 30.0) -> int:
    """Top the pool up to `target` spares (default SPARE_SCHEMA_POOL_SIZE); returns how many were made.

    Idempotent; refills are serialised by an advisory lock and recount after
    each schema, so two refills never overshoot.
    """
    target = settings.SPARE_SCHEMA_POOL_SIZE if target is None else target
    created = 0
    with advisory_lock(SPARE_POOL_LOCK, wait_seconds=wait_seconds) as acquired:
        if not acquired:
            log.info("spare pool refill already running; skipped")
            return 0
        while spare_count() < target:
            spare_create()
            created += 1
    if created:
        log.info("spare pool refilled", extra={"spares_created": created, "pool_target": target})
    return created


def request_pool_refill() -> None:
    """Ask a worker to refill the pool. Best effort: Redis down never fails the caller
    (the scheduled refill catches up)."""
    try:
        get_queue("default").enqueue_call(  # type: ignore[no-untyped-call]  # rq leaves enqueue_call unannotated
            REFILL_JOB, meta={SCHEMA_META: "public"}, timeout=600
        )
    except Exception as exc:
        log.warning("spare pool refill not enqueued (%s)", exc.__class__.__name__)


def _claim_spare(*, only_id: UUID | str | None = None) -> Organization | None:
    """Lock one unclaimed spare; concurrent claimers skip locked rows, so no spare is claimed twice."""
    queryset = Organization.objects.select_for_update(skip_locked=True).filter(
        status=OrgStatus.SPARE
    )
    if only_id is not None:
        queryset = queryset.filter(id=only_id)
    spare: Organization | None = queryset.order_by("created_at").first()
    return spare


def _ensure_slug_free(slug: str, *, exclude_org_id: UUID | str | None = None) -> None:
    orgs = Organization.objects.filter(slug=slug)
    domains = Domain.objects.filter(domain=_host_for(slug))
    if exclude_org_id is not None:
        orgs = orgs.exclude(id=exclude_org_id)
        domains = domains.exclude(tenant_id=exclude_org_id)
    if orgs.exists() or domains.exists():
        raise Conflict("This slug is taken.", code="slug_taken")


def _org_materialize(
    *,
    slug: str,
    name: str,
    populate: Callable[[Organization], dict[str, Any]],
    actor_id: UUID | str | None,
    action: str,
    changes: dict[str, Any],
) -> Organization:
    """Claim a spare (or create a schema) and turn it into organization `slug`, in one transaction.

    `populate(org)` adds memberships (and tenant rows) inside that
    transaction and returns extra event fields. After commit a pool refill
    is requested.
    """
    validate_slug(slug)
    _ensure_slug_free(slug)
    try:
        with transaction.atomic():
            org = _claim_spare()
            from_pool = org is not None
            if org is None:
                # Pool empty: make the schema now. The new row holds the slug's
                # unique-index entry, so a concurrent twin waits and gets a 409.
                org = Organization(
                    schema_name=new_schema_name(), slug=slug, name=name, status=OrgStatus.ACTIVE
                )
                org.auto_create_schema = False
                org.save()
                org.create_schema(check_if_exists=False, verbosity=0)
            else:
                org.slug, org.name, org.status, org.created_at = (
                    slug,
                    name,
                    OrgStatus.ACTIVE,
                    timezone.now(),
                )
                org.save(update_fields=["slug", "name", "status", "created_at"])
            Domain.objects.create(domain=_host_for(slug), tenant=org, is_primary=True)
            extra = populate(org) or {}
            platform_event(
                actor_id=actor_id,
                action=action,
                org=org,
                changes={"slug": slug, "name": name, "from_pool": from_pool, **changes, **extra},
            )
            transaction.on_commit(request_pool_refill)
    except IntegrityError:
        raise Conflict("This slug is taken.", code="slug_taken") from None
    return org


# Class id of the per-user organization-quota lock: pg_advisory_xact_lock(int, int)
# keys never collide with the one-bigint keys above.
ORG_QUOTA_LOCK_CLASS = 740_126
ORG_QUOTA_LOCK_TIMEOUT = "10s"


def _org_quota_lock(user_id: UUID | str) -> None:
    """Serialise one user's organization creations until the transaction ends.

    Waits at most ORG_QUOTA_LOCK_TIMEOUT (then 429), so piled-up creations by
    one user never hold database connections for long.
    """
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('lock_timeout')")
            previous = cursor.fetchone()[0]
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [ORG_QUOTA_LOCK_TIMEOUT])
            cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [ORG_QUOTA_LOCK_CLASS, str(user_id)])
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [previous])
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != "55P03":  # lock_not_available
            raise
        raise RateLimited(5, "Another organization is being created for this account; try again shortly.") from None


def org_quota_used(user_id: UUID | str) -> int:
    """Live (not deleted) organizations `user_id` owns or created for themself."""
    created = PlatformEvent.objects.filter(
        action="org.created", actor_id=user_id, changes__owner_id=str(user_id)
    ).values("organization_id")
    used: int = (
        Organization.objects.filter(status__in=(OrgStatus.ACTIVE, OrgStatus.SUSPENDED))
        .filter(Q(memberships__user_id=user_id, memberships__role=Role.OWNER) | Q(id__in=created))
        .distinct()
        .count()
    )
    return used


def org_provision(
    *,
    owner: User,
    name: str,
    slug: str,
    actor_id: UUID | str | None = None,
    via: str = "api",
    enforce_quota: bool = False,
) -> Organization:
    """Create an organization owned by `owner`; its host works when this returns.

    `enforce_quota` (self-service creation, POST /orgs): at most ORG_CREATE_RATE
    attempts per ORG_CREATE_RATE_WINDOW (429 + Retry-After; a Redis counter,
    not enforced while Redis is down), and at most MAX_ORGS_PER_USER live
    organizations owned or created by `owner` (403 `quota_exceeded`), counted
    under a per-user lock held until commit, so concurrent creations by one
    user never exceed it. Operators provisioning for someone skip both.
    """
    validate_slug(slug)
    validate_org_name(name)

    def add_owner(org: Organization) -> dict[str, Any]:
        # Through the one membership writer: its `member.added` event (via
        # "provision") is the first entry of the new organization's audit log.
        with schema_context(org.schema_name):
            member_add(
                org_id=org.id, user_id=owner.id, role=Role.OWNER, actor_id=actor_id or owner.id, via="provision"
            )
        return {}

    def materialize() -> Organization:
        return _org_materialize(
            slug=slug,
            name=name,
            populate=add_owner,
            actor_id=actor_id or owner.id,
            action="org.created",
            changes={"owner_id": str(owner.id), "via": via},
        )

    if not enforce_quota:
        return materialize()
    check_rate(
        f"orgs:create:{owner.id}", limit=settings.ORG_CREATE_RATE, window=settings.ORG_CREATE_RATE_WINDOW
    )
    with transaction.atomic():
        _org_quota_lock(owner.id)
        limit = settings.MAX_ORGS_PER_USER
        if org_quota_used(owner.id) >= limit:
            raise Forbidden(
                f"Organization limit reached: a user may own or create at most {limit} organizations.",
                code="quota_exceeded",
                limit=limit,
            )
        return materialize()


def org_provision_for_email(
    *, owner_email: str, name: str, slug: str, actor_id: UUID | str | None, via: str
) -> Organization:
    """Operator provisioning: the owner must be an existing, active user (422 otherwise)."""
    owner = User.objects.filter(email=normalize_email(owner_email), is_active=True).first()
    if owner is None:
        raise InvalidInput("No active user has this email.", loc=["body", "owner_email"])
    return org_provision(owner=owner, name=name, slug=slug, actor_id=actor_id, via=via)


# --- operator actions ------------------------------------------------------------------


def org_get_for_operator(*, slug: str, lock: bool = False) -> Organization:
    """A live (active or suspended) organization by slug, or NotFound."""
    queryset = Organization.objects.filter(
        slug=slug, status__in=(OrgStatus.ACTIVE, OrgStatus.SUSPENDED)
    )
    if lock:
        queryset = queryset.select_for_update()
    org: Organization | None = queryset.first()
    if org is None:
        raise NotFound("No such organization.", code="org_not_found")
    return org


def org_get_for_export(*, slug: str) -> Organization:
    """A live organization by slug, or a deleted one by its former slug while its schema exists."""
    org: Organization | None = Organization.objects.filter(
        slug=slug, status__in=(OrgStatus.ACTIVE, OrgStatus.SUSPENDED)
    ).first()
    org = org or (
        Organization.objects.filter(
            deleted_slug=slug, status=OrgStatus.DELETED, schema_dropped_at__isnull=True
        )
        .order_by("-deleted_at")
        .first()
    )
    if org is None:
        raise NotFound("No such organization.", code="org_not_found")
    return org


def _locked(org: Organization) -> Organization:
    locked: Organization | None = Organization.objects.select_for_update().filter(id=org.id).first()
    if locked is None or locked.status not in (OrgStatus.ACTIVE, OrgStatus.SUSPENDED):
        raise NotFound("No such organization.", code="org_not_found")
    return locked


@transaction.atomic
def org_suspend(*, org: Organization, actor_id: UUID | str | None, via: str = "api", reason: str = "") -> Organization:
    """Its hosts answer 403 org_suspended at once (the save invalidates the host cache)."""
    org = _locked(org)
    if org.status == OrgStatus.SUSPENDED:
        return org
    org.status = OrgStatus.SUSPENDED
    org.save(update_fields=["status"])
    changes = {"status": {"from": OrgStatus.ACTIVE, "to": OrgStatus.SUSPENDED}, "via": via}
    if reason:
        changes["reason"] = reason
    platform_event(actor_id=actor_id, action="org.suspended", org=org, changes=changes)
    return org


@transaction.atomic
def org_resume(*, org: Organization, actor_id: UUID | str | None, via: str = "api") -> Organization:
    org = _locked(org)
    if org.status == OrgStatus.ACTIVE:
        return org
    org.status = OrgStatus.ACTIVE
    org.save(update_fields=["status"])
    platform_event(
        actor_id=actor_id,
        action="org.resumed",
        org=org,
        changes={"status": {"from": OrgStatus.SUSPENDED, "to": OrgStatus.ACTIVE}, "via": via},
    )
    return org


@transaction.atomic
def org_delete(*, org: Organization, actor_id: UUID | str | None, via: str = "api") -> Organization:
    """Tombstone: status deleted, domains removed (hosts stop answering at once), slug
    freed (kept in `deleted_slug`); the schema is dropped after the retention period."""
    org = _locked(org)
    before = {"slug": org.slug, "status": org.status}
    domains = list(Domain.objects.filter(tenant=org))
    for domain in domains:
        domain.delete()  # the signal invalidates each host
    org.status, org.deleted_at = OrgStatus.DELETED, timezone.now()
    org.deleted_slug, org.slug = org.slug or "", None
    org.save(update_fields=["status", "deleted_at", "deleted_slug", "slug"])
    platform_event(
        actor_id=actor_id,
        action="org.deleted",
        org=org,
        changes={
            "slug": before["slug"],
            "status": {"from": before["status"], "to": OrgStatus.DELETED},
            "domains": [d.domain for d in domains],
            "schema_drop_after": (
                org.deleted_at + timedelta(days=settings.ORG_DELETE_RETENTION_DAYS)
            ).isoformat(),
            "via": via,
        },
    )
    return org


@transaction.atomic
def org_rename(
    *,
    org: Organization,
    actor_id: UUID | str | None,
    slug: str | None = None,
    name: str | None = None,
    via: str = "api",
) -> Organization:
    """New slug: the primary domain moves with it (old host stops resolving, new one works);
    the schema is untouched. New name: just the name."""
    if slug is None and name is None:
        raise InvalidInput("Give a new slug or name.", loc=["body"])
    org = _locked(org)
    changes: dict[str, Any] = {}
    if slug is not None and slug != org.slug:
        validate_slug(slug)
        _ensure_slug_free(slug, exclude_org_id=org.id)
        old_slug = org.slug
        old_host = _host_for(old_slug) if old_slug else None
        primary = Domain.objects.filter(tenant=org, domain=old_host).first() if old_host else None
        if primary is not None:
            primary.domain = _host_for(slug)
            primary.save()  # the signal invalidates the old and the new host
        else:
            Domain.objects.create(domain=_host_for(slug), tenant=org, is_primary=True)
        org.slug = slug
        changes["slug"] = {"from": old_slug, "to": slug}
    if name is not None and name != org.name:
        validate_org_name(name)
        changes["name"] = {"from": org.name, "to": name}
        org.name = name
    if not changes:
        return org
    try:
        with transaction.atomic():
            org.save(update_fields=["slug", "name"])
    except IntegrityError:
        raise Conflict("This slug is taken.", code="slug_taken") from None
    platform_event(
        actor_id=actor_id, action="org.renamed", org=org, changes={**changes, "via": via}
    )
    return org


def org_drop_schema(*, org: Organization, actor_id: UUID | str | None = None) -> bool:
    """Drop a deleted organization's schema now (idempotent); False if not droppable."""
    with transaction.atomic():
        org = (
            Organization.objects.select_for_update(skip_locked=True)
            .filter(id=org.id, status=OrgStatus.DELETED, schema_dropped_at__isnull=True)
            .first()
        )
        if org is None:
            return False
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{_checked_schema(org.schema_name)}" CASCADE')
        org.schema_dropped_at = timezone.now()
        # Never let TenantMixin.save() recreate the schema it finds missing.
        org.auto_create_schema = False
        org.save(update_fields=["schema_dropped_at"])
        memberships = members_drop_all(org_id=org.id)  # the organization's data is gone; so are its members
        platform_event(
            actor_id=actor_id,
            action="org.schema_dropped",
            org=org,
            changes={
                "schema_name": org.schema_name,
                "slug": org.deleted_slug,
                "deleted_at": org.deleted_at.isoformat() if org.deleted_at else None,
                "memberships_removed": len(memberships),
            },
        )
    return True


def drop_expired_schemas(*, now: datetime | None = None, limit: int = 100) -> list[str]:
    """Drop the schemas of organizations deleted more than ORG_DELETE_RETENTION_DAYS ago."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.ORG_DELETE_RETENTION_DAYS)
    due = list(
        Organization.objects.filter(
            status=OrgStatus.DELETED, deleted_at__lt=cutoff, schema_dropped_at__isnull=True
        ).order_by("deleted_at")[:limit]
    )
    dropped = []
    for org in due:
        if org_drop_schema(org=org):
            dropped.append(org.schema_name)
    return dropped


_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _checked_schema(schema_name: str) -> str:
    if (
        not _SCHEMA_RE.match(schema_name)
        or schema_name == "public"
        or schema_name.startswith("pg_")
    ):
        raise ValueError(f"refusing to touch schema {schema_name!r}")
    return schema_name


# --- custom domains and memberships (operators, via the admin) ---------------------------

_HOST_RE = re.compile(
    r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$"
)


def validate_custom_domain(domain: str) -> str:
    domain = (domain or "").strip().lower().rstrip(".")
    if not _HOST_RE.match(domain):
        raise InvalidInput("Not a valid host name.", loc=["domain"])
    base = settings.BASE_DOMAIN
    if domain == base or domain.endswith("." + base):
        raise InvalidInput(
            f"Hosts under {base} are organization slugs; rename the organization instead.",
            loc=["domain"],
        )
    return domain


@transaction.atomic
def domain_add(*, org: Organization, domain: str, actor_id: UUID | str | None, via: str = "admin") -> Domain:
    org = _locked(org)
    domain = validate_custom_domain(domain)
    if Domain.objects.filter(domain=domain).exists():
        raise Conflict("This domain is taken.", code="domain_taken")
    created: Domain = Domain.objects.create(domain=domain, tenant=org, is_primary=False)
    platform_event(
        actor_id=actor_id,
        action="org.domain_added",
        org=org,
        changes={"domain": domain, "via": via},
    )
    return created


@transaction.atomic
def domain_remove(*, domain: Domain, actor_id: UUID | str | None, via: str = "admin") -> None:
    org = domain.tenant
    if org.slug and domain.domain == _host_for(org.slug):
        raise Conflict(
            "The organization's own host moves with its slug; rename instead.",
            code="primary_domain",
        )
    domain.delete()
    platform_event(
        actor_id=actor_id,
        action="org.domain_removed",
        org=org,
        changes={"domain": domain.domain, "via": via},
    )


@transaction.atomic
def membership_add(
    *, org: Organization, user: User, role: str, actor_id: UUID | str | None, via: str = "admin"
) -> Membership:
    """Through the one membership writer (shared_apps.orgs.services): organization
    lock, 409 `already_member`, the organization's audit event; plus the PlatformEvent."""
    membership = member_add_as_operator(org=org, user_id=user.id, role=role, actor_id=actor_id, via=via)
    platform_event(
        actor_id=actor_id,
        action="member.added",
        org=org,
        changes={"user_id": str(user.id), "role": role, "via": via},
    )
    return membership


@transaction.atomic
def membership_set_role(
    *, membership: Membership, role: str, actor_id: UUID | str | None, via: str = "admin"
) -> Membership:
    """Locked re-read (404 if gone), last-owner rule (409), one audit event in the
    organization and one PlatformEvent; nothing written when the role is unchanged."""
    current, before = member_set_role_as_operator(
        membership=membership, role=role, actor_id=actor_id, via=via
    )
    if before == role:
        return current
    platform_event(
        actor_id=actor_id,
        action="member.role_changed",
        org=current.organization,
        changes={"user_id": str(current.user_id), "role": {"from": before, "to": role}, "via": via},
    )
    return current


@transaction.atomic
def membership_remove(*, membership: Membership, actor_id: UUID | str | None, via: str = "admin") -> None:
    """Locked re-read (404 if already removed), last-owner rule (409), one audit
    event in the organization and one PlatformEvent."""
    removed = member_remove_as_operator(membership=membership, actor_id=actor_id, via=via)
    platform_event(
        actor_id=actor_id,
        action="member.removed",
        org=removed.organization,
        changes={"user_id": str(removed.user_id), "role": removed.role, "via": via},
    )
