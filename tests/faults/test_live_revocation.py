"""Against the real public port (nginx in front of the API on granian WSGI and
the streams on granian ASGI, so the revocation is made in one server and the
stream ends in the other): an open event stream ends within 2 seconds of its
member's removal or logout, and a change committed afterwards never reaches
it; the other organization's stream stays open and hears its own events."""

import http.client
import json
import queue
import threading
import time

import pytest

from proof.harness import PASSWORD, app_env, seed_orgs
from proof.harness import http as call

pytestmark = pytest.mark.slow


class Stream:
    """A raw SSE client reading lines in a thread; `closed` is set when the server ends it."""

    def __init__(self, base: str, host: str, path: str, token: str):
        port = int(base.rsplit(":", 1)[1])
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.conn.request("GET", f"/api/v1{path}", headers={"Host": host, "Authorization": f"Bearer {token}"})
        self.response = self.conn.getresponse()
        if self.response.status != 200:
            body = self.response.read()[:300]
            self.conn.close()  # no socket left for the garbage collector to warn about in a later test
            raise AssertionError(f"stream answered {self.response.status}: {body!r}")
        self.events: queue.Queue = queue.Queue()
        self.closed = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        event = None
        try:
            for raw in self.response:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event:
                    self.events.put((event, json.loads(line[6:])))
                    event = None
        except (OSError, AttributeError, ValueError):  # closed by the server, or by close()
            pass
        self.closed.set()

    def drain(self, wait: float) -> list[str]:
        out, deadline = [], time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                out.append(self.events.get(timeout=max(0.01, deadline - time.monotonic()))[0])
            except queue.Empty:
                break
        return out

    def close(self):
        self.conn.close()


def _board(server, org) -> tuple[str, str]:
    token = org["users"][0]["token"]
    board = call(server.url, "POST", "/boards", host=org["host"], token=token, body={"name": "Live"})[2]
    lst = call(server.url, "POST", f"/boards/{board['id']}/lists", host=org["host"], token=token,
               body={"name": "To do"})[2]
    task = call(server.url, "POST", "/tasks", host=org["host"], token=token,
                body={"list_id": lst["id"], "title": "Ship"})[2]
    return board["id"], task["id"]


def test_removed_member_and_logged_out_member_lose_their_streams(pg, redis_server, sites):
    env = app_env(pg.url(), redis_server.url())
    a, b = seed_orgs(env, ["livea", "liveb"], roles=["member", "member"])
    server = sites(env, workers=1)
    board_a, task_a = _board(server, a)
    board_b, task_b = _board(server, b)
    owner_a, removed, leaving = a["users"]
    owner_b = b["users"][0]

    pair = call(server.url, "POST", "/auth/token", host="localhost",
                body={"email": leaving["email"], "password": PASSWORD})[2]
    streams: list[Stream] = []
    try:
        for host, board, token in ((a["host"], board_a, removed["token"]), (a["host"], board_a, pair["access"]),
                                   (b["host"], board_b, b["users"][1]["token"])):
            streams.append(Stream(server.url, host, f"/boards/{board}/events", token))
        removed_stream, logout_stream, other_org = streams
        time.sleep(0.5)
        started = time.monotonic()
        status = call(server.url, "DELETE", f"/members/{removed['id']}", host=a["host"], token=owner_a["token"])[0]
        assert status == 204
        status = call(server.url, "POST", "/auth/logout", host="localhost", token=pair["access"],
                      body={"refresh": pair["refresh"]})[0]
        assert status == 204
        # Committed after both revocations: neither stream may carry it.
        status = call(server.url, "PATCH", f"/tasks/{task_a}", host=a["host"], token=owner_a["token"],
                      body={"title": "After the revocation"})[0]
        assert status == 200
        assert removed_stream.closed.wait(2.0) and logout_stream.closed.wait(2.0 - (time.monotonic() - started))
        assert time.monotonic() - started < 2.0
        assert removed_stream.drain(0.1) == ["access_revoked"]
        assert logout_stream.drain(0.1) == ["access_revoked"]

        # The other organization's stream is open and still hears its own board.
        assert not other_org.closed.is_set()
        call(server.url, "PATCH", f"/tasks/{task_b}", host=b["host"], token=owner_b["token"], body={"title": "B"})
        assert other_org.drain(1.0) == ["task.updated"]
    finally:
        for stream in streams:
            stream.close()
