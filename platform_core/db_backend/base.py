"""django-tenants' PostgreSQL backend whose connection pool checks a connection
on checkout only when its socket says something happened (platform_core.db_pool).

Django builds the psycopg pool itself and passes `check` from
CONN_HEALTH_CHECKS: either nothing or a query per checkout. With
CONN_HEALTH_CHECKS off it passes nothing, and this backend installs the
cheaper check on the pool Django built (psycopg_pool keeps it in `_check`;
tests/core/test_db_pool.py fails if that changes)."""

from typing import Any

from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper

from platform_core.db_pool import check_if_disturbed


class DatabaseWrapper(TenantDatabaseWrapper):  # type: ignore[misc]  # django-tenants is untyped
    @property
    def pool(self) -> Any:
        pool = super().pool
        if pool is not None and pool._check is None:
            pool._check = check_if_disturbed
        return pool
