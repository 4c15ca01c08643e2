"""Oversized bodies are refused while they stream in, against a real granian:
a declared length over the limit gets 413 before a byte of body is read, a
chunked body is cut off at the limit, and the server never writes one to a
file or holds more than the limit in memory (read from /proc: its open files
and its resident memory)."""

import os
import socket
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings

from proof.harness import Server, app_env, descendants

BIG = 60 * 1024 * 1024
CHUNK = 64 * 1024


@pytest.fixture(scope="module")
def server():
    """granian ASGI (the live server) as ops/run starts it; no request here reaches
    the database. The API server (WSGI) listens on loopback behind nginx, which
    enforces the same limit (tests/core/test_public_port.py)."""
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    srv = Server(app_env(url, settings.REDIS_URL, DB_POOL="0"), interface="asgi").start()
    yield srv
    srv.stop()


def _worker_pids(srv: Server) -> list[int]:
    return [srv.proc.pid, *descendants(srv.proc.pid)]


def _open_files(pids: list[int]) -> set[str]:
    """Regular files the server's processes hold open (sockets, pipes and the
    like excluded; libraries are mapped, not open)."""
    out = set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if target.startswith("/") and not target.startswith(("/dev/", "/proc/")):
                    out.add(target)
        except OSError:
            continue
    return out


def _rss_kb(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


class Watch:
    """Samples the server's open files and memory while a request runs."""

    def __init__(self, srv: Server):
        self.pids = _worker_pids(srv)
        self.baseline_files = _open_files(self.pids)
        self.baseline_rss = _rss_kb(self.pids)
        self.new_files: set[str] = set()
        self.peak_rss = self.baseline_rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            self.new_files |= _open_files(self.pids) - self.baseline_files
            self.peak_rss = max(self.peak_rss, _rss_kb(self.pids))
            time.sleep(0.005)

    def stop(self):
        self._stop.set()
        self._thread.join()


def _head(host: str, path: str, extra: str) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n{extra}\r\n").encode()


def _read_status(sock: socket.socket, timeout: float) -> tuple[int, bytes]:
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            piece = sock.recv(65536)
            if not piece:
                break
            data += piece
        head, _, rest = data.partition(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        while len(rest) < length:
            piece = sock.recv(65536)
            if not piece:
                break
            rest += piece
    except (ConnectionResetError, TimeoutError):
        pass
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
    return status, data


@pytest.mark.parametrize("host", ["localhost", "nobody-here.localhost"])
def test_declared_length_over_the_limit_is_refused_before_the_body(server, host):
    """60 MB announced, no body sent: the 413 comes at once (it cannot wait for the body)."""
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        started = time.monotonic()
        sock.sendall(_head(host, "/api/v1/auth/signup", f"Content-Length: {BIG}\r\n"))
        status, raw = _read_status(sock, timeout=5)
    assert status == 413, raw[:300]
    assert b'"payload_too_large"' in raw
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("host", ["localhost", "nobody-here.localhost"])
def test_chunked_body_is_cut_off_at_the_limit_without_touching_disk(server, host):
    watch = Watch(server)
    sent = 0
    status, raw = 0, b""
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(_head(host, "/api/v1/auth/signup", "Transfer-Encoding: chunked\r\n"))
        chunk = f"{CHUNK:x}\r\n".encode() + b"x" * CHUNK + b"\r\n"
        try:
            while sent < BIG:
                sock.sendall(chunk)
                sent += CHUNK
        except (BrokenPipeError, ConnectionResetError):
            pass
        status, raw = _read_status(sock, timeout=5)
    watch.stop()
    assert status == 413, raw[:300]
    assert sent < BIG, "the server read the whole 60 MB body"
    assert not watch.new_files, f"the body went to files: {watch.new_files}"
    grown_mb = (watch.peak_rss - watch.baseline_rss) / 1024
    assert grown_mb < 20, f"the server grew by {grown_mb:.0f} MB"


def test_bodies_within_the_limit_still_arrive_whole(server):
    """Length-delimited and chunked bodies under the limit reach the API intact."""
    body = b'{"email": "someone@example.com", "password": "x", "name": "Some One"}'
    for framing in (f"Content-Length: {len(body)}\r\n", "Transfer-Encoding: chunked\r\n"):
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            payload = body if "Length" in framing else (
                f"{len(body[:20]):x}\r\n".encode() + body[:20] + b"\r\n"
                + f"{len(body[20:]):x}\r\n".encode() + body[20:] + b"\r\n0\r\n\r\n"
            )
            sock.sendall(_head("localhost", "/api/v1/auth/signup", framing) + payload)
            status, raw = _read_status(sock, timeout=10)
        assert status == 422, raw[:500]  # the password is too weak: the body was parsed
        assert b"password" in raw
