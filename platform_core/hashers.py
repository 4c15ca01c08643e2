"""Password hashing: Argon2id at OWASP's minimum, a bounded number at a time,
never while holding a database connection.

- Parameters (settings ARGON2_TIME_COST, ARGON2_MEMORY_KIB, ARGON2_PARALLELISM;
  default t=2, m=19 MiB, p=1: OWASP's Password Storage Cheat Sheet minimum
  for Argon2id). Django's own defaults (t=2, m=100 MiB, p=8) cost 100 MiB of
  memory per hash in flight: 24 concurrent sign-ups took the web workers from
  283 MB to 2.2 GB. Stored hashes with other parameters still verify (they
  carry their own) and are re-hashed at the next successful login.
- Hashes run on PASSWORD_HASH_CONCURRENCY threads per process (default 1),
  at CPU niceness PASSWORD_HASH_NICE (default 10) so other requests keep
  their CPU; a caller whose hash has not started within
  PASSWORD_HASH_WAIT_SECONDS gets 503 `service_unavailable` with Retry-After.
  The memory of hashing is thus bounded by workers x concurrency x m.
- At most PASSWORD_HASH_CALLERS request threads per process are in hashing at
  once (hashing or waiting for a slot); the next caller gets that 503 at once.
  On a threaded server (granian WSGI, a few threads per process) callers
  waiting for a slot would otherwise hold every thread, and every other
  request (other organizations' reads) would queue behind a sign-in flood.
- Before waiting for a slot, the caller hands its database connection back
  to the pool (unless it is inside a transaction), so slow hashing never
  starves other requests of connections.
"""

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.db import connections

from platform_core.errors import ServiceUnavailable

_T = TypeVar("_T")

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_key: tuple[int, int] | None = None
_callers = [0]  # request threads of this process in bounded() (under _lock)


def _lower_priority() -> None:
    """Hashing threads run at a lower CPU priority (Linux: per thread), so a
    flood of sign-ins takes the spare CPU, not the other requests'."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), int(settings.PASSWORD_HASH_NICE))
    except (AttributeError, OSError):
        pass


def _executor() -> ThreadPoolExecutor:
    """PASSWORD_HASH_CONCURRENCY threads per process do every hash: the bound on
    concurrency, and few threads, so Argon2's buffers are reused rather than
    left behind in each request thread's malloc arena."""
    global _pool, _pool_key
    size = max(1, int(settings.PASSWORD_HASH_CONCURRENCY))
    with _lock:
        if _pool is None or _pool_key != (os.getpid(), size):
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(
                max_workers=size, thread_name_prefix="password-hash", initializer=_lower_priority
            )
            _pool_key = (os.getpid(), size)
        return _pool


def release_db_connections() -> None:
    """Return this thread's database connections to the pool (or close them),
    unless a transaction is open on them."""
    for conn in connections.all(initialized_only=True):
        if conn.connection is not None and not conn.in_atomic_block:
            conn.close()


def bounded(fn: Callable[..., _T], *args: Any) -> _T:
    """Run `fn(*args)` on a hashing thread; give the database connection back first.
    PASSWORD_HASH_CALLERS already in here, or no hashing thread free within
    PASSWORD_HASH_WAIT_SECONDS: 503 with Retry-After."""
    wait = float(settings.PASSWORD_HASH_WAIT_SECONDS)
    limit = int(settings.PASSWORD_HASH_CALLERS)
    with _lock:
        if limit > 0 and _callers[0] >= limit:
            raise ServiceUnavailable("Too many sign-ins at once; retry shortly.", retry_after=1)
        _callers[0] += 1
    try:
        release_db_connections()
        future = _executor().submit(fn, *args)
        try:
            return future.result(timeout=wait)
        except FutureTimeout:
            if future.cancel():
                raise ServiceUnavailable(
                    "Too many sign-ins at once; retry shortly.", retry_after=max(1, int(wait))
                ) from None
            return future.result()  # started meanwhile: it ends soon
    finally:
        with _lock:
            _callers[0] -= 1


class BoundedArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id (algorithm name `argon2`, so existing hashes keep verifying)."""

    # Read from settings on each use (tests override them); Django declares
    # these as plain class attributes, hence the ignores.
    @property
    def time_cost(self) -> int:  # type: ignore[override]
        return settings.ARGON2_TIME_COST

    @property
    def memory_cost(self) -> int:  # type: ignore[override]
        return settings.ARGON2_MEMORY_KIB

    @property
    def parallelism(self) -> int:  # type: ignore[override]
        return settings.ARGON2_PARALLELISM

    def encode(self, password: str, salt: str) -> str:
        return bounded(super().encode, password, salt)

    def verify(self, password: str, encoded: str) -> bool:
        return bounded(super().verify, password, encoded)
