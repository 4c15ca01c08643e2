"""Password hashing: Argon2id at OWASP's minimum, a bounded number at a time,
never while holding a database connection.

- Parameters (settings ARGON2_TIME_COST, ARGON2_MEMORY_KIB, ARGON2_PARALLELISM;
  default t=2, m=19 MiB, p=1: OWASP's Password Storage Cheat Sheet minimum
  for Argon2id). Django's own defaults (t=2, m=100 MiB, p=8) cost 100 MiB of
  memory per hash in flight: 24 concurrent sign-ups took the web workers from
  283 MB to 2.2 GB. Stored hashes with other parameters still verify (they
  carry their own) and are re-hashed at the next successful login.
- At most PASSWORD_HASH_CONCURRENCY hashes run at once per process; a caller
  that cannot get a slot within PASSWORD_HASH_WAIT_SECONDS gets 503
  `service_unavailable` with Retry-After. The memory of hashing is thus
  bounded by workers x concurrency x m.
- Before waiting for a slot, the caller hands its database connection back
  to the pool (unless it is inside a transaction), so slow hashing never
  starves other requests of connections.
"""

import threading
from contextlib import contextmanager

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.db import connections

from platform_core.errors import ServiceUnavailable

_lock = threading.Lock()
_slots: threading.BoundedSemaphore | None = None
_slots_size = 0


def _semaphore() -> threading.BoundedSemaphore:
    global _slots, _slots_size
    size = max(1, int(settings.PASSWORD_HASH_CONCURRENCY))
    with _lock:
        if _slots is None or _slots_size != size:
            _slots, _slots_size = threading.BoundedSemaphore(size), size
        return _slots


def release_db_connections() -> None:
    """Return this thread's database connections to the pool (or close them),
    unless a transaction is open on them."""
    for conn in connections.all(initialized_only=True):
        if conn.connection is not None and not conn.in_atomic_block:
            conn.close()


@contextmanager
def hashing_slot():
    release_db_connections()
    slots = _semaphore()
    if not slots.acquire(timeout=settings.PASSWORD_HASH_WAIT_SECONDS):
        raise ServiceUnavailable(
            "Too many sign-ins at once; retry shortly.",
            retry_after=max(1, int(settings.PASSWORD_HASH_WAIT_SECONDS)),
        )
    try:
        yield
    finally:
        slots.release()


class BoundedArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id (algorithm name `argon2`, so existing hashes keep verifying)."""

    @property
    def time_cost(self) -> int:
        return settings.ARGON2_TIME_COST

    @property
    def memory_cost(self) -> int:
        return settings.ARGON2_MEMORY_KIB

    @property
    def parallelism(self) -> int:
        return settings.ARGON2_PARALLELISM

    def encode(self, password, salt):
        with hashing_slot():
            return super().encode(password, salt)

    def verify(self, password, encoded):
        with hashing_slot():
            return super().verify(password, encoded)
