"""Loaded as a plugin (`-p tests.pytest_env` in pyproject) before pytest-django
configures Django, so these reach the settings: test mode, no connection pool,
and a Redis database pair of this worker's own (queues, then caches)."""

import os

_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
_index = int(_worker.removeprefix("gw") or 0)
if _index > 6:
    raise RuntimeError("at most 7 xdist workers: each takes two of Redis's 16 databases")
os.environ["TESTING"] = "1"
os.environ["DB_POOL"] = "0"
_base_redis = os.environ.get("REDIS_URL", "redis://127.0.0.1:63790/0").rsplit("/", 1)[0]
os.environ["REDIS_URL"] = f"{_base_redis}/{2 + 2 * _index}"
os.environ.pop("CACHE_REDIS_URL", None)
