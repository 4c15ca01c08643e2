"""Test fixtures: real PostgreSQL and Redis; two organizations created once per session.

`world` holds organization A ("acme") and B ("globex"), each with an owner,
an admin and a member, plus an outsider who belongs to neither. Public rows
(users, sessions, organizations, domains, memberships) are restored after
every transactional test, whose flush truncates the public schema.
"""

import pytest

from tests.support import World, build_world, restore_public_rows


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):  # noqa: F811 - extends pytest-django's
    with django_db_blocker.unblock():
        world = build_world()
    pytest.world_snapshot = world
    yield


@pytest.fixture(autouse=True)
def _fresh_redis():
    """Each test starts with an empty cache (every process's near cache too),
    queues and rate-limit counters."""
    import redis
    from django.conf import settings

    from platform_core.cache import cache_clear_all

    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    cache_clear_all()
    yield


@pytest.fixture
def world(django_db_setup, django_db_blocker) -> World:
    """The session's two organizations; their public rows are put back first if
    a transactional test's flush removed them."""
    world: World = pytest.world_snapshot
    with django_db_blocker.unblock():
        restore_public_rows(world)
    return world


@pytest.fixture
def api(world):
    """`api(host_or_org, user=None)` -> an HTTP client for that host, signed in as `user`."""
    from tests.support import ApiClient

    def make(host, user=None) -> ApiClient:
        return ApiClient(world.host(host), token=world.token(user) if user else None)

    return make


def server_env() -> dict:
    """The environment of a server on the test database and Redis, signing keys
    shared, so rows committed here are what it serves."""
    from django.conf import settings
    from django.db import connection

    from proof.harness import app_env

    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    return app_env(
        url,
        settings.REDIS_URL,
        CACHE_REDIS_URL=settings.CACHE_REDIS_URL,
        SECRET_KEY=settings.SECRET_KEY,
        JWT_SIGNING_KEY=settings.NINJA_JWT["SIGNING_KEY"],
    )


@pytest.fixture
def granian(world):
    """granian serving the app (proof.harness.Server) on the test database and
    Redis, signing keys shared, so rows committed here are what it serves."""
    from proof.harness import Server

    server = Server(server_env(), workers=1).start()
    yield server
    server.stop()
