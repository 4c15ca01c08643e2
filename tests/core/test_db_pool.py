"""The pool's checkout check (platform_core.db_pool, installed by platform_core.db_backend):
no round trip for a healthy idle connection; a connection PostgreSQL ended while
it sat in the pool is replaced on checkout, never handed to a request."""

from django.db import connection
from psycopg_pool import ConnectionPool

from platform_core.db_backend.base import DatabaseWrapper
from platform_core.db_pool import check_if_disturbed


def _pool(dsn: str) -> ConnectionPool:
    return ConnectionPool(dsn, min_size=1, max_size=1, check=check_if_disturbed, open=True)


def _dsn() -> str:
    params = connection.get_connection_params()
    return " ".join(f"{k}={params[k]}" for k in ("dbname", "user", "password", "host", "port"))


def test_a_healthy_idle_connection_is_handed_out_without_a_query(db, monkeypatch):
    checks = []
    monkeypatch.setattr(ConnectionPool, "check_connection", staticmethod(lambda conn: checks.append(conn)))
    with _pool(_dsn()) as pool:
        for _ in range(3):
            with pool.connection() as conn:
                conn.execute("select 1")
    assert checks == []


def test_a_connection_ended_by_postgresql_is_replaced_on_checkout(db):
    with _pool(_dsn()) as pool:
        with pool.connection() as conn:
            first_pid = conn.info.backend_pid
        with connection.cursor() as cursor:
            cursor.execute("select pg_terminate_backend(%s, 5000)", [first_pid])  # waits until it has ended
        with pool.connection() as conn:  # the check sees the closed socket and replaces it
            assert conn.execute("select pg_backend_pid()").fetchone()[0] != first_pid


def test_the_backend_installs_the_check_on_the_pool_django_builds(settings):
    db = dict(settings.DATABASES["default"])
    db["OPTIONS"] = {**db["OPTIONS"], "pool": {"min_size": 0, "max_size": 1}}
    db["CONN_HEALTH_CHECKS"] = False
    wrapper = DatabaseWrapper(db, alias="pool_check")
    try:
        assert wrapper.pool._check is check_if_disturbed  # psycopg_pool's attribute: fails if it moves
    finally:
        wrapper.close_pool()
