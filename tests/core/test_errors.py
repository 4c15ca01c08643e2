"""The error envelope everywhere; request ids; health; docs; body size."""

import pytest

pytestmark = pytest.mark.django_db


def assert_envelope(r, status, code=None):
    assert r.status_code == status, r.content
    body = r.json()
    assert set(body) >= {"code", "detail"}
    if code:
        assert body["code"] == code
    return body


def test_bad_json_is_400_envelope(api, world):
    r = api(world.a, world.a.owner).raw("PATCH", "/api/v1/org", "{not json")
    assert_envelope(r, 400, "invalid_json")


def test_wrong_types_are_422_with_errors(api, world):
    r = api(world.a, world.a.owner).patch("/org", {"name": 42})
    body = assert_envelope(r, 422, "validation_error")
    assert body["errors"][0]["loc"][-1] == "name"


def test_missing_body_is_422(api, world):
    r = api(world.a, world.a.owner).patch("/org")
    assert_envelope(r, 422, "validation_error")


def test_nul_bytes_are_422(api, world):
    r = api(world.a, world.a.owner).patch("/org", {"name": "a\x00b"})
    assert_envelope(r, 422, "validation_error")


def test_deep_nesting_is_4xx(api, world):
    r = api(world.a, world.a.owner).raw("PATCH", "/api/v1/org", "[" * 100000 + "]" * 100000)
    assert 400 <= r.status_code < 500
    assert r.json()["code"]


def test_unknown_route_is_404_envelope(api, world):
    assert_envelope(api(world.a, world.a.owner).get("/nope"), 404)
    assert_envelope(api("root").get("/totally/unknown"), 404)


def test_wrong_method_is_405_envelope(api, world):
    r = api(world.a, world.a.owner).raw("PUT", "/api/v1/org", "{}")
    assert_envelope(r, 405)


def test_invalid_uuid_in_path_is_4xx(api, world):
    r = api(world.a, world.a.owner).patch("/members/not-a-uuid", {"role": "admin"})
    assert r.status_code in (404, 422)
    assert r.json()["code"]


def test_body_over_limit_is_413(api, world, settings):
    settings.MAX_REQUEST_BYTES = 1000
    r = api(world.a, world.a.owner).patch("/org", {"name": "x" * 5000})
    assert_envelope(r, 413, "payload_too_large")


def test_request_id_echoed_or_generated(api, world):
    r = api(world.a, world.a.owner).get("/org", HTTP_X_REQUEST_ID="abc-123")
    assert r["X-Request-ID"] == "abc-123"
    r = api("nope.localhost").get("/org")
    assert len(r["X-Request-ID"]) == 32
    r = api(world.a).get("/org", HTTP_X_REQUEST_ID="bad id with spaces")
    assert r["X-Request-ID"] != "bad id with spaces"


@pytest.mark.parametrize("host", ["root", "acme.localhost", "unknown.localhost"])
def test_health_on_any_host(api, host):
    assert api(host).get("/healthz").json() == {"status": "ok"}
    r = api(host).get("/readyz")
    assert r.status_code == 200
    assert r.json()["checks"] == {"database": "ok", "redis": "ok"}


@pytest.mark.parametrize("host", ["root", "acme.localhost"])
def test_openapi_and_docs_offline(api, world, host):
    schema = api(host).get("/api/v1/openapi.json")
    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.")
    docs = api(host).get("/api/v1/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "cdn." not in html and "unpkg" not in html and "jsdelivr" not in html


def test_error_responses_are_documented(api, world):
    schema = api(world.a).get("/api/v1/openapi.json").json()
    op = schema["paths"]["/api/v1/members/{user_id}"]["patch"]
    assert {"401", "403", "404", "422"} <= set(op["responses"])


def test_docs_assets_are_served_locally(api, world):
    import re

    html = api(world.a).get("/api/v1/docs").content.decode()
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert assets, html[:500]
    for asset in assets:
        response = api(world.a).get(asset)
        response.close()  # a FileResponse: close its file (warnings are errors)
        assert response.status_code == 200, asset
