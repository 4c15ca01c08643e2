"""Invalidate the request-path cache (platform_core.cache) on every write path,
admin and bulk services included: at once and again after commit, so a
concurrent reader cannot re-cache the old value. After commit, changes that
can end someone's access also go out as revocations, which open live
streams re-check at once (platform_core.live)."""

from django.db import transaction
from django.db.models.signals import post_delete, post_init, post_save
from django.dispatch import receiver

from platform_core.cache import cache_delete_many, host_key, member_key, session_key, user_key
from platform_core.live import publish_revocation
from shared_apps.accounts.models import AuthSession, User
from shared_apps.orgs.models import Domain, Membership, Organization


def invalidate(keys: list[str], **revocation) -> None:
    """Drop `keys` now and after commit; then, given `revocation` (user_id,
    session_id, org_id), tell live streams to re-check."""
    cache_delete_many(keys)

    def after_commit() -> None:
        cache_delete_many(keys)
        if revocation:
            publish_revocation(**revocation)

    transaction.on_commit(after_commit)


@receiver(post_init, sender=Domain)
def _remember_domain(sender, instance: Domain, **kwargs):
    instance._loaded_domain = instance.domain


@receiver([post_save, post_delete], sender=Domain)
def _domain_changed(sender, instance: Domain, **kwargs):
    keys = [host_key(instance.domain)]
    previous = getattr(instance, "_loaded_domain", None)
    if previous and previous != instance.domain:
        keys.append(host_key(previous))
    invalidate(keys, org_id=instance.tenant_id)


@receiver([post_save, post_delete], sender=Organization)
def _org_changed(sender, instance: Organization, **kwargs):
    hosts = list(Domain.objects.filter(tenant_id=instance.pk).values_list("domain", flat=True))
    invalidate([host_key(h) for h in hosts], org_id=instance.pk)


@receiver([post_save, post_delete], sender=Membership)
def _membership_changed(sender, instance: Membership, **kwargs):
    invalidate(
        [member_key(instance.organization_id, instance.user_id)],
        org_id=instance.organization_id, user_id=instance.user_id,
    )


@receiver([post_save, post_delete], sender=User)
def _user_changed(sender, instance: User, **kwargs):
    invalidate([user_key(instance.pk)], user_id=instance.pk)


@receiver([post_save, post_delete], sender=AuthSession)
def _session_changed(sender, instance: AuthSession, **kwargs):
    ended = instance.revoked_at is not None or "created" not in kwargs  # post_delete has no `created`
    invalidate([session_key(instance.pk)], **({"session_id": instance.pk} if ended else {}))
