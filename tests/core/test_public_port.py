"""The serving design, end to end (proof.harness.Site, as ops/run starts it):
one public port (nginx) in front of the API on granian WSGI and the live
endpoints on granian ASGI. Organization hosts pass through with their Host
header; a board's event stream opened through the port hears a write made
through the port; the proxy's own refusals use the error envelope; a live
endpoint reached on the API server directly answers 421, never a stuck
thread. Two organizations throughout."""

import http.client
import json
import socket
import time

import pytest

from proof.harness import http as call

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def site(world):
    from proof.harness import Site
    from tests.conftest import server_env

    site = Site(server_env()).start()
    yield site
    site.stop()


def _board_with_list(site, org, token) -> tuple[str, str]:
    status, _, board = call(site.url, "POST", "/boards", host=org.host, token=token, body={"name": "Port"})
    assert status == 201, board
    status, _, task_list = call(
        site.url, "POST", f"/boards/{board['id']}/lists", host=org.host, token=token, body={"name": "Todo"}
    )
    assert status == 201, task_list
    return board["id"], task_list["id"]


def _open_stream(port: int, host: str, path: str, token: str) -> tuple[socket.socket, bytes]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Accept: text/event-stream\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(4096)
    return sock, head


def _read_until(sock: socket.socket, needle: bytes, seconds: float) -> bytes:
    got, deadline = b"", time.monotonic() + seconds
    sock.settimeout(0.5)
    while needle not in got and time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        if not chunk:
            break
        got += chunk
    return got


def test_api_and_live_endpoints_share_one_port(world, site):
    a, b = world.a, world.b
    token_a, token_b = world.token(a.owner), world.token(b.owner)
    assert call(site.url, "GET", "/org", host=a.host, token=token_a)[2]["slug"] == a.org.slug
    assert call(site.url, "GET", "/org", host=b.host, token=token_b)[2]["slug"] == b.org.slug
    assert call(site.url, "GET", "/org", host=b.host, token=token_a)[0] == 403

    board_a, list_a = _board_with_list(site, a, token_a)
    board_b, list_b = _board_with_list(site, b, token_b)
    stream_a, head = _open_stream(site.port, a.host, f"/api/v1/boards/{board_a}/events", token_a)
    stream_b, _ = _open_stream(site.port, b.host, f"/api/v1/boards/{board_b}/events", token_b)
    try:
        assert b" 200 " in head.split(b"\r\n")[0] and b"text/event-stream" in head
        time.sleep(0.5)  # the stream's subscription is in place
        status, _, task = call(site.url, "POST", "/tasks", host=a.host, token=token_a,
                               body={"list_id": list_a, "title": "Through the port"})
        assert status == 201
        assert task["id"].encode() in _read_until(stream_a, task["id"].encode(), 5)
        assert task["id"].encode() not in _read_until(stream_b, task["id"].encode(), 1)  # globex hears nothing
    finally:
        stream_a.close()
        stream_b.close()

    # A live endpoint on the API server itself: 421, at once.
    status, _, body = call(site.api.url, "GET", f"/boards/{board_a}/events", host=a.host, token=token_a, timeout=5)
    assert status == 421 and body["code"] == "misdirected"


def test_the_proxy_answers_in_the_envelope(world, site):
    status, _, body = call(site.url, "GET", "/org", host="nobody.localhost")
    assert status == 404 and body["code"] == "unknown_host"

    too_big = b"x" * (site.max_body + 1)
    conn = http.client.HTTPConnection("127.0.0.1", site.port, timeout=10)
    conn.request("POST", "/api/v1/auth/login", body=too_big,
                 headers={"Host": "localhost", "Content-Type": "application/json"})
    response = conn.getresponse()
    assert response.status == 413
    assert json.loads(response.read())["code"] == "payload_too_large"
    conn.close()

    conn = http.client.HTTPConnection("127.0.0.1", site.port, timeout=10)
    conn.request("POST", "/api/v1/auth/login", body=iter([too_big[:1000], too_big[1000:]]),
                 headers={"Host": "localhost", "Content-Type": "application/json"}, encode_chunked=True)
    response = conn.getresponse()
    assert response.status == 413
    assert json.loads(response.read())["code"] == "payload_too_large"
    conn.close()
