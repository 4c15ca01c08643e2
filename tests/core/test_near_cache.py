"""The request path from process memory (platform_core.near_cache): a warm
authenticated request asks Redis nothing, and every change that ends or
alters access still bites on the very next request, in this process and in
another one (a granian server), with both organizations in play."""

import pytest
import redis
from django.conf import settings

from platform_core.cache import _platform, cache_delete_many, cache_get_many, member_key
from platform_core.near_cache import NearCache, near_cache
from tests.support import ApiClient, add_member, make_user, unique_email

pytestmark = pytest.mark.django_db


def test_a_warm_authenticated_request_asks_redis_nothing(world, monkeypatch):
    client = ApiClient(world.a.host, token=world.token(world.a.member))
    assert client.get("/org").status_code == 200  # fills Redis
    assert client.get("/org").status_code == 200  # fills memory
    redis_reads: list = []
    backend = _platform()
    real_get_many = backend.get_many

    def counted(keys, *args, **kwargs):
        redis_reads.append(keys)
        return real_get_many(keys, *args, **kwargs)

    monkeypatch.setattr(backend, "get_many", counted)
    for _ in range(5):
        assert client.get("/org").status_code == 200
    assert redis_reads == []


def test_removal_and_role_change_bite_on_the_next_request(world):
    from shared_apps.orgs.models import Membership

    a, b = world.a, world.b
    user = make_user(unique_email("near"))
    add_member(a.org, user, "admin")
    add_member(b.org, user, "member")
    in_a = ApiClient(a.host, token=world.token(user))
    in_b = ApiClient(b.host, token=world.token(user))
    for _ in range(2):
        assert in_a.get("/members").status_code == 200
        assert in_b.get("/org").status_code == 200

    Membership.objects.filter(organization=a.org, user=user).get().delete()  # signals invalidate
    assert in_a.get("/org").status_code == 403  # the very next request
    assert in_b.get("/org").status_code == 200  # the other organization is untouched


def test_an_entry_read_while_an_invalidation_arrived_is_not_kept(world):
    cache = NearCache()
    key = member_key(world.a.org.id, world.a.member.id)
    found, epoch = cache.lookup([key])
    assert found == {} and epoch is not None
    cache.forget([key])  # an invalidation lands while the reader is at Redis
    cache.keep({key: "stale"}, epoch)
    assert cache.lookup([key])[0] == {}
    _, epoch = cache.lookup([key])
    cache.keep({key: "fresh"}, epoch)
    assert cache.lookup([key])[0] == {key: "fresh"}


def test_invalidations_published_by_another_writer_are_applied_before_a_read(world):
    reader, writer_side = NearCache(), redis.Redis.from_url(settings.CACHE_REDIS_URL)
    keys = ["k:acme", "k:globex"]
    _, epoch = reader.lookup(keys)
    reader.keep({"k:acme": 1, "k:globex": 2}, epoch)
    writer_side.publish(NearCache.channel(), NearCache.message(["k:acme"]))
    assert reader._pubsub.connection.can_read(1)  # on the socket (Redis writes it in the publisher's loop pass)
    assert reader.lookup(keys)[0] == {"k:globex": 2}  # applied by the read itself: no listener thread
    writer_side.publish(NearCache.channel(), NearCache.message(None))
    assert reader._pubsub.connection.can_read(1)
    assert reader.lookup(keys)[0] == {}


def test_a_lost_subscription_clears_memory_and_stops_using_it(world):
    reader = NearCache()
    _, epoch = reader.lookup(["k"])
    reader.keep({"k": 1}, epoch)
    assert reader.lookup(["k"])[0] == {"k": 1}
    redis.Redis.from_url(settings.CACHE_REDIS_URL).client_kill_filter(_type="pubsub")
    assert reader.lookup(["k"]) == ({}, None)  # invalidations may have been missed
    reader._retry_at = 0  # let it subscribe again without waiting RETRY_SECONDS
    found, epoch = reader.lookup(["k"])
    assert found == {} and epoch is not None


def test_cache_delete_many_drops_the_key_in_redis_and_memory(world):
    key = member_key(world.a.org.id, world.a.owner.id)
    client = ApiClient(world.a.host, token=world.token(world.a.owner))
    for _ in range(2):
        assert client.get("/org").status_code == 200
    assert cache_get_many([key]) == {key: "owner"}
    cache_delete_many([key])
    assert near_cache.lookup([key])[0] == {}
    assert cache_get_many([key]) == {}


@pytest.mark.django_db(transaction=True)
def test_another_process_sees_removal_and_logout_on_the_next_request(world, granian):
    """granian (its own process and near cache) warmed, then the change is made
    here: its next request already sees it."""
    from proof.harness import http
    from shared_apps.accounts.models import AuthSession
    from shared_apps.orgs.models import Membership

    a, b = world.a, world.b
    user = make_user(unique_email("far"))
    add_member(a.org, user, "member")
    add_member(b.org, user, "member")
    token = world.token(user)
    for _ in range(3):
        assert http(granian.url, "GET", "/org", host=a.host, token=token)[0] == 200
        assert http(granian.url, "GET", "/org", host=b.host, token=token)[0] == 200

    Membership.objects.get(organization=a.org, user=user).delete()
    assert http(granian.url, "GET", "/org", host=a.host, token=token)[0] == 403
    assert http(granian.url, "GET", "/org", host=b.host, token=token)[0] == 200

    from shared_apps.accounts.services import session_revoke

    for session in AuthSession.objects.filter(user=user):
        session_revoke(session=session, reason="logout")
    assert http(granian.url, "GET", "/org", host=b.host, token=token)[0] == 401
