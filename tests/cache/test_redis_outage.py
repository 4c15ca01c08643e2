"""Redis down: the request path answers from PostgreSQL, logs the degradation
once per interval, and after Redis returns the cache is flushed (an
invalidation may have been lost). Uses a throwaway redis-server of its own."""

import logging
import shutil
import socket
import subprocess
import time

import pytest

from tests.support import add_member, make_user, unique_email

pytestmark = pytest.mark.django_db


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ThrowawayRedis:
    def __init__(self, tmp_path):
        self.port = _free_port()
        self.dir = tmp_path
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.dir), "--appendonly", "yes", "--appendfsync", "always", "--save", ""],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.1).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("redis did not start")

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(5)
            self.proc = None


@pytest.fixture
def outage_redis(tmp_path, settings):
    import platform_core.cache as cache_module

    server = ThrowawayRedis(tmp_path)
    server.start()
    settings.CACHES = {
        **settings.CACHES,
        "platform": {**settings.CACHES["platform"], "LOCATION": f"redis://127.0.0.1:{server.port}/0"},
    }
    cache_module._last_warning = 0.0
    cache_module._flush_pending = False
    yield server
    server.stop()
    cache_module._flush_pending = False


def test_requests_survive_redis_outage_and_cache_is_flushed_after(api, world, outage_redis, caplog):
    import redis

    user = make_user(unique_email())
    membership = add_member(world.a.org, user, "member")
    client = api(world.a, user)
    assert client.get("/org").status_code == 200  # host, user, session, role now cached
    keys_before = redis.Redis(port=outage_redis.port).dbsize()
    assert keys_before >= 4

    outage_redis.stop()
    with caplog.at_level(logging.WARNING, logger="platform_core.cache"):
        for _ in range(5):
            assert client.get("/org").status_code == 200  # from PostgreSQL
        membership.delete()  # its cache invalidation cannot reach Redis
        assert client.get("/org").status_code == 403  # PostgreSQL is the truth meanwhile
    warnings = [r for r in caplog.records if "redis unavailable" in r.getMessage()]
    assert len(warnings) == 1, "degradation is logged once per interval, not per request"

    outage_redis.start()  # append-only file: the stale role comes back with it
    assert client.get("/org").status_code == 403, "stale cached role served after the outage"
    assert api(world.a, world.a.owner).get("/org").status_code == 200
