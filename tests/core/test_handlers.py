"""Two middleware stacks by host (platform_core.handlers): organization hosts
get the API-only stack (no session, CSRF, messages or frame-options work), the
root host keeps Django's full stack for the admin, and an unknown host still
gets `unknown_host`. Driven through the WSGI entry point's dispatcher."""

import json

import pytest
from django.core import signals
from django.db import close_old_connections
from django.test import RequestFactory

from platform_core.handlers import WSGIHostDispatch

pytestmark = pytest.mark.django_db


@pytest.fixture
def dispatch():
    # As Django's test client does: the test's transaction must survive the request's end.
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield WSGIHostDispatch()
    finally:
        for signal in (signals.request_started, signals.request_finished):
            signal.connect(close_old_connections)


def _call(app, host: str, path: str, **headers) -> tuple[int, dict[str, str], bytes]:
    environ = RequestFactory().get(path, HTTP_HOST=host, **headers).environ
    seen: dict = {}

    def start_response(status, response_headers, exc_info=None):
        seen["status"], seen["headers"] = int(status.split()[0]), dict(response_headers)

    body = b"".join(app(environ, start_response))
    return seen["status"], seen["headers"], body


def test_organization_hosts_run_the_api_only_stack(world, dispatch):
    names = [type(m).__name__ for m in _chain(dispatch.org)]
    assert "SessionMiddleware" not in names and "CsrfViewMiddleware" not in names
    for org in (world.a, world.b):
        status, headers, body = _call(
            dispatch, org.host, "/api/v1/org", HTTP_AUTHORIZATION=f"Bearer {world.token(org.member)}"
        )
        assert status == 200 and json.loads(body)["slug"] == org.org.slug, body
        assert "Set-Cookie" not in headers and "X-Frame-Options" not in headers
        assert headers["X-Content-Type-Options"] == "nosniff"  # SecurityMiddleware stays
    status, _, body = _call(
        dispatch, world.b.host, "/api/v1/org", HTTP_AUTHORIZATION=f"Bearer {world.token(world.a.member)}"
    )
    assert status == 403 and json.loads(body)["code"] == "not_a_member"


def test_the_root_host_keeps_the_full_stack_for_the_admin(world, dispatch):
    names = [type(m).__name__ for m in _chain(dispatch.root)]
    assert {"SessionMiddleware", "CsrfViewMiddleware", "AuthenticationMiddleware"} <= set(names)
    status, headers, body = _call(dispatch, world.root, "/admin/login/")
    assert status == 200 and b"csrfmiddlewaretoken" in body
    assert headers["X-Frame-Options"] == "DENY"


def test_unknown_hosts_get_the_envelope(dispatch):
    status, _, body = _call(dispatch, "nobody.localhost", "/api/v1/org")
    assert status == 404 and json.loads(body)["code"] == "unknown_host"


def _chain(handler) -> list:
    """The middleware instances of a loaded handler, outermost first."""
    found, current = [], handler._middleware_chain
    while hasattr(current, "get_response") or hasattr(current, "__wrapped__"):
        inner = getattr(current, "__wrapped__", None)
        if inner is None:
            found.append(current)
            inner = current.get_response
        current = inner
    return found
