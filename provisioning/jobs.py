"""Background jobs of the platform (they run in the `public` schema).

Both are idempotent and safe to run concurrently; schedule them in
platform_core/cron.py (refill every minute, schema drops hourly).
"""

from provisioning import services


def refill_spare_pool(*, target: int | None = None) -> int:
    """Top the spare-schema pool up to SPARE_SCHEMA_POOL_SIZE; returns the number created."""
    return services.spare_pool_refill(target=target)


def drop_deleted_schemas(*, limit: int = 100) -> list[str]:
    """Drop the schemas of organizations deleted longer than ORG_DELETE_RETENTION_DAYS ago
    (records schema_dropped_at and an `org.schema_dropped` event); returns the schemas dropped."""
    return services.drop_expired_schemas(limit=limit)
