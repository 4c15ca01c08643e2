"""Pre-rendered reads over HTTP: the board detail and GET /tasks pages are cached
gzipped behind versions (platform_core.cache.VersionedCache), served with a
weak ETag, `304 Not Modified` for a matching If-None-Match with no SQL, gzip
only to clients that accept it, `Vary: Accept-Encoding` always. Writes retire
exactly what they change; organization B's look-alike data never shares an
entry or a tag. Transactional: nothing is cached inside an open transaction."""

import gzip
import json
import uuid

import pytest
import redis
from django.conf import settings

from platform_core.cache import ALL_BOARDS, board_detail_cache
from tests.support import board_through_api as _board

pytestmark = pytest.mark.django_db(transaction=True)


GZIP = {"HTTP_ACCEPT_ENCODING": "br;q=1.0, gzip;q=0.8, *;q=0.1"}


def test_board_detail_gzip_etag_and_304(api, world, django_assert_num_queries):
    owner = api(world.a, world.a.owner)
    board, _ = _board(owner)
    path = f"/boards/{board['id']}"
    plain = owner.get(path)  # cold: rendered, stored
    assert plain.status_code == 200 and "Content-Encoding" not in plain
    assert plain["Content-Type"] == "application/json" and plain["Vary"] == "Accept-Encoding"
    etag = plain["ETag"]
    assert etag.startswith('W/"') and board["id"] in etag

    with django_assert_num_queries(0):
        zipped = owner.get(path, **GZIP)
    assert zipped.status_code == 200 and zipped["Content-Encoding"] == "gzip"
    assert zipped["ETag"] == etag and zipped["Vary"] == "Accept-Encoding"
    assert gzip.decompress(zipped.content) == plain.content

    for refused in ("gzip;q=0", "identity", "br, *;q=0"):
        r = owner.get(path, HTTP_ACCEPT_ENCODING=refused)
        assert "Content-Encoding" not in r and r.content == plain.content, refused

    for header in (etag, etag.removeprefix("W/"), f'"nope", {etag}', "*"):
        with django_assert_num_queries(0):
            r = owner.get(path, HTTP_IF_NONE_MATCH=header, **GZIP)
        assert r.status_code == 304 and r.content == b"", header
        assert r["ETag"] == etag
    assert owner.get(path, HTTP_IF_NONE_MATCH='W/"1.other"').status_code == 200

    owner.patch(path, {"name": "Renamed"})  # the version moves on: the old tag no longer matches
    fresh = owner.get(path, HTTP_IF_NONE_MATCH=etag)
    assert fresh.status_code == 200 and fresh.json()["name"] == "Renamed"
    assert fresh["ETag"] != etag
    assert owner.get(path, HTTP_IF_NONE_MATCH=fresh["ETag"]).status_code == 304


def test_a_tag_from_one_organization_never_validates_in_another(api, world):
    """Same board name, same history: B's tag is not A's, and A's board id is a 404 in B."""
    a_owner, b_owner = api(world.a, world.a.owner), api(world.b, world.b.owner)
    a_board, _ = _board(a_owner)
    b_board, _ = _board(b_owner)
    a_tag = a_owner.get(f"/boards/{a_board['id']}")["ETag"]
    b_tag = b_owner.get(f"/boards/{b_board['id']}")["ETag"]
    assert a_tag != b_tag
    assert b_owner.get(f"/boards/{b_board['id']}", HTTP_IF_NONE_MATCH=a_tag).status_code == 200
    assert b_owner.get(f"/boards/{a_board['id']}", HTTP_IF_NONE_MATCH=a_tag).status_code == 404


def test_304_needs_the_same_authorization(api, world):
    owner = api(world.a, world.a.owner)
    board, _ = _board(owner, lists=0)
    etag = owner.get(f"/boards/{board['id']}")["ETag"]
    assert api(world.a).get(f"/boards/{board['id']}", HTTP_IF_NONE_MATCH=etag).status_code == 401
    assert api(world.b, world.b.owner).get(f"/boards/{board['id']}", HTTP_IF_NONE_MATCH=etag).status_code == 404


def test_versions_never_repeat_after_redis_loses_them(api, world):
    """A flush (after an outage) or an eviction loses the versions: new ones
    start past every earlier one, so no stale entry or old ETag matches again."""
    owner = api(world.a, world.a.owner)
    board, _ = _board(owner, lists=1, tasks=1)
    path = f"/boards/{board['id']}"
    first = owner.get(path)["ETag"]
    for _ in range(3):
        owner.patch(path, {"name": "Again"})
    before_flush = owner.get(path)["ETag"]
    redis.Redis.from_url(settings.CACHE_REDIS_URL).flushdb()
    owner.patch(path, {"name": "After"})
    after = owner.get(path)
    assert after.json()["name"] == "After"
    assert after["ETag"] not in (first, before_flush)
    assert owner.get(path, HTTP_IF_NONE_MATCH=before_flush).status_code == 200
    schema = world.a.org.schema_name
    version = board_detail_cache.get(schema, board["id"])[0]
    assert version is not None and version > int(before_flush.split('"')[1].split(".")[0])


def _page(client, params, **headers):
    response = client.get("/tasks", params, **headers)
    assert response.status_code in (200, 304), response.content
    return response


def test_task_pages_are_cached_and_retired_by_the_writes_they_depend_on(api, world, django_assert_num_queries):
    owner = api(world.a, world.a.owner)
    reader = api(world.a, world.a.member)
    one, one_lists = _board(owner, name="One")
    two, two_lists = _board(owner, name="Two")
    on_one = {"board_id": one["id"], "limit": 50}
    marker = uuid.uuid4().hex  # tasks of earlier tests stay in the schema: a query only this test matches
    anywhere = {"q": marker, "limit": 50}
    cold = {key: _page(reader, params) for key, params in (("one", on_one), ("any", anywhere))}
    assert cold["one"]["Content-Type"] == "application/json; charset=utf-8"
    with django_assert_num_queries(0):
        warm = {key: _page(reader, params, **GZIP) for key, params in (("one", on_one), ("any", anywhere))}
        assert _page(reader, on_one, HTTP_IF_NONE_MATCH=warm["one"]["ETag"]).status_code == 304
    for key in cold:
        assert gzip.decompress(warm[key].content) == cold[key].content
    assert {t["board_id"] for t in cold["one"].json()["items"]} == {one["id"]}

    # A write on board Two: pages of board One stay, pages naming no board are retired.
    owner.post("/tasks", {"list_id": two_lists[0]["id"], "title": f"Task {marker}"})
    with django_assert_num_queries(0):
        assert _page(reader, on_one).content == cold["one"].content
    titles = [t["title"] for t in _page(reader, anywhere).json()["items"]]
    assert titles == [f"Task {marker}"]

    # A write on board One retires its pages.
    owner.post(f"/tasks/{one_lists[0]['tasks'][0]['id']}/complete")
    page = _page(reader, on_one, HTTP_IF_NONE_MATCH=warm["one"]["ETag"])
    assert page.status_code == 200
    assert [t["status"] for t in page.json()["items"]].count("done") == 1


def test_assignee_me_is_cached_per_user(api, world):
    owner = api(world.a, world.a.owner)
    board, lists = _board(owner, lists=1, tasks=2)
    task = lists[0]["tasks"][0]
    owner.post(f"/tasks/{task['id']}/assign", {"assignee_id": str(world.a.member.id)})
    mine = {"assignee_id": "me", "board_id": board["id"]}
    for _ in range(2):  # cold, then warm
        assert [t["id"] for t in _page(api(world.a, world.a.member), mine).json()["items"]] == [task["id"]]
        assert _page(api(world.a, world.a.admin), mine).json()["items"] == []


def test_same_query_in_two_organizations_never_shares_an_entry(api, world, django_assert_num_queries):
    a_board, _ = _board(api(world.a, world.a.owner), name="Same")
    b_board, _ = _board(api(world.b, world.b.owner), name="Same")
    params = {"q": "Task", "limit": 200}
    for _ in range(2):
        a = _page(api(world.a, world.a.member), params)
        b = _page(api(world.b, world.b.member), params)
        a_boards = {t["board_id"] for t in a.json()["items"]}
        b_boards = {t["board_id"] for t in b.json()["items"]}
        assert a_board["id"] in a_boards and b_board["id"] in b_boards
        assert a_boards.isdisjoint(b_boards)
    # A write in A retires A's organization-wide pages only.
    api(world.a, world.a.owner).patch(f"/boards/{a_board['id']}", {"name": "Renamed"})
    with django_assert_num_queries(0):
        assert _page(api(world.b, world.b.member), params).content == b.content
    b_all = board_detail_cache.get(world.b.org.schema_name, ALL_BOARDS)[0]
    a_all = board_detail_cache.get(world.a.org.schema_name, ALL_BOARDS)[0]
    assert a_all != b_all


def test_response_cache_off_serves_plain_without_tag(api, world, settings):
    settings.RESPONSE_CACHE_ENABLED = False
    owner = api(world.a, world.a.owner)
    board, _ = _board(owner, lists=1, tasks=1)
    for path, params in ((f"/boards/{board['id']}", {}), ("/tasks", {"board_id": board["id"]})):
        r = owner.get(path, params, **GZIP)
        assert r.status_code == 200 and "ETag" not in r and "Content-Encoding" not in r
        json.loads(r.content)


def test_reads_of_missing_boards_leave_no_lasting_keys(api, world):
    """A version created by a read lives a minute unless something is stored
    under it: requests for ids that do not exist cannot fill Redis."""
    owner = api(world.a, world.a.owner)
    board, _ = _board(owner, lists=0)
    missing = "00000000-0000-4000-8000-000000000000"
    assert owner.get(f"/boards/{missing}").status_code == 404
    owner.get(f"/boards/{board['id']}")
    client = redis.Redis.from_url(settings.CACHE_REDIS_URL)
    ttls = {key.decode(): client.ttl(key) for key in client.scan_iter("*board_detail*:v")}
    schema = world.a.org.schema_name
    missing_ttl = next(ttl for key, ttl in ttls.items() if f"{schema}:board_detail:{missing}:v" in key)
    kept_ttl = next(ttl for key, ttl in ttls.items() if f"{schema}:board_detail:{board['id']}:v" in key)
    assert 0 < missing_ttl <= 60 < kept_ttl
