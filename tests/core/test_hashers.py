"""Password hashing (issue 11, finding 3): Argon2id at OWASP's minimum, a bounded
number of hashes at once, none of them holding a database connection.

The suite hashes with MD5 for speed (settings TESTING); these tests call the
production hasher directly. No tenant data is involved."""

import threading
import time

import pytest
from django.db import connection, transaction

from platform_core import hashers
from platform_core.errors import ServiceUnavailable


def test_argon2id_at_owasp_minimum_and_old_hashes_still_verify():
    hasher = hashers.BoundedArgon2PasswordHasher()
    encoded = hasher.encode("a-Very-good-passphrase", hasher.salt())
    assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$"), encoded
    assert hasher.verify("a-Very-good-passphrase", encoded)
    assert not hasher.verify("another-passphrase", encoded)
    # a hash made with Django's defaults (m=100 MiB, p=8) verifies, and is marked for re-hashing
    from django.contrib.auth.hashers import Argon2PasswordHasher

    old = Argon2PasswordHasher().encode("a-Very-good-passphrase", hasher.salt())
    assert hasher.verify("a-Very-good-passphrase", old) and hasher.must_update(old)
    assert not hasher.must_update(encoded)


@pytest.mark.django_db(transaction=True)
def test_the_database_connection_is_handed_back_before_hashing():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert connection.connection is not None
    seen = []
    hashers.bounded(lambda: seen.append(connection.connection))  # `connection`: the caller's, by reference
    assert seen == [None]
    # inside a transaction it is kept (closing would lose the transaction)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        hashers.bounded(lambda: seen.append(connection.connection))
        assert connection.connection is not None
    assert seen[1] is None  # the hashing thread has no connection of its own


def test_hashes_run_at_most_concurrency_at_once_and_waiters_get_503(settings):
    settings.PASSWORD_HASH_CONCURRENCY, settings.PASSWORD_HASH_WAIT_SECONDS = 2, 5
    running, peak, lock = [0], [0], threading.Lock()

    def work():
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.1)
        with lock:
            running[0] -= 1
        return True

    threads = [threading.Thread(target=hashers.bounded, args=(work,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 2

    settings.PASSWORD_HASH_CONCURRENCY, settings.PASSWORD_HASH_WAIT_SECONDS = 1, 0.3
    release = threading.Event()
    busy = threading.Thread(target=hashers.bounded, args=(lambda: release.wait(10),))
    busy.start()
    time.sleep(0.1)
    try:
        with pytest.raises(ServiceUnavailable) as exc:
            hashers.bounded(lambda: True)
        assert exc.value.status == 503 and exc.value.retry_after >= 1
    finally:
        release.set()
        busy.join()
    assert hashers.bounded(lambda: "done") == "done"


def test_callers_beyond_the_limit_get_503_at_once(settings):
    """With request threads few (granian WSGI), callers queueing for a hash would
    hold every thread: beyond PASSWORD_HASH_CALLERS per process the answer is an
    immediate 503, and the limit frees as calls end."""
    settings.PASSWORD_HASH_CONCURRENCY, settings.PASSWORD_HASH_WAIT_SECONDS = 1, 5
    settings.PASSWORD_HASH_CALLERS = 1
    release = threading.Event()
    busy = threading.Thread(target=hashers.bounded, args=(lambda: release.wait(10),))
    busy.start()
    time.sleep(0.1)
    try:
        started = time.monotonic()
        with pytest.raises(ServiceUnavailable) as exc:
            hashers.bounded(lambda: True)
        assert time.monotonic() - started < 0.5  # not after PASSWORD_HASH_WAIT_SECONDS
        assert exc.value.status == 503 and exc.value.retry_after >= 1
    finally:
        release.set()
        busy.join()
    assert hashers.bounded(lambda: "done") == "done"
