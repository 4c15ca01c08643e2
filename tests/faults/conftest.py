"""Real processes for the fault tests: each test gets its OWN PostgreSQL cluster
(a copy of a migrated golden cluster built once per session), Redis, SMTP sink
and granian (or the whole public port: nginx in front of granian WSGI and
ASGI) on free loopback ports, stopped and deleted by finalizers even when
the test fails. Nothing here touches the development PostgreSQL/Redis."""

import pytest

from proof.harness import Postgres, Redis, Server, Site, Smtp, golden_cluster


@pytest.fixture(scope="session")
def golden_pg():
    golden = golden_cluster()
    yield golden
    golden.destroy()


@pytest.fixture
def pg(golden_pg) -> Postgres:
    cluster = golden_pg.clone()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def redis_server() -> Redis:
    server = Redis(appendonly=True)
    try:
        server.start()
        yield server
    finally:
        server.destroy()


@pytest.fixture
def smtp() -> Smtp:
    sink = Smtp().start()
    yield sink
    sink.stop()


@pytest.fixture
def servers():
    """`servers(env, workers=1)` -> a started granian; all stopped at teardown."""
    started: list[Server] = []

    def start(env: dict, workers: int = 1) -> Server:
        server = Server(env, workers=workers)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()
        if server.log_path.exists():
            server.log_path.unlink()


@pytest.fixture
def sites():
    """`sites(env, workers=1)` -> a started public port (proof.harness.Site: nginx,
    the API on granian WSGI, live endpoints on granian ASGI); all stopped at teardown."""
    started: list[Site] = []

    def start(env: dict, workers: int = 1) -> Site:
        site = Site(env, workers=workers)
        started.append(site)
        return site.start()

    yield start
    for site in started:
        site.stop()
