"""The request-body limit, enforced while the body streams in (ASGI).

Django's ASGI handler reads a whole request body into a temporary file before
any middleware runs, so a size check in middleware comes after the damage: a
200 MB body is written to disk (or memory) first. This wrapper sits in front
of Django instead:

- a declared `Content-Length` over MAX_REQUEST_BYTES is refused with 413 at
  once, before a single body byte is read;
- a body without a length (chunked) is read here, up to the limit, into
  memory; the first chunk that crosses the limit ends the request with 413
  and nothing more is read;
- a body within the limit is handed to Django as one message, and every
  later `receive()` (the disconnect that ends a live stream) goes through.

So at most MAX_REQUEST_BYTES of any request is ever held, and nothing is
spooled to disk (settings keep FILE_UPLOAD_MAX_MEMORY_SIZE, the size at which
Django's spool goes to a file, at MAX_REQUEST_BYTES).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

# ASGI, as far as this wrapper needs it.
Scope = dict[str, Any]
Message = Mapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_ERROR_HEADERS = [
    (b"content-type", b"application/json"),
    (b"connection", b"close"),
]


def _error_body(status: int, code: str, detail: str) -> bytes:
    return json.dumps({"code": code, "detail": detail}).encode()


async def _send_error(send: Send, status: int, code: str, detail: str) -> None:
    body = _error_body(status, code, detail)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*_ERROR_HEADERS, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """ASGI wrapper: at most `limit` body bytes reach the application."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        declared = None
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    return await _send_error(send, 400, "bad_request", "Invalid Content-Length header.")
                if declared < 0:
                    return await _send_error(send, 400, "bad_request", "Invalid Content-Length header.")
                break
        if declared is not None and declared > self.limit:
            return await _send_error(send, 413, "payload_too_large", self._too_large())

        # Read the body here, bounded; Django then gets it as one message.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # client went away
                return await self.app(scope, _replay([message], receive), send)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                return await _send_error(send, 413, "payload_too_large", self._too_large())
            if chunk:
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        return await self.app(scope, _replay([body], receive), send)

    def _too_large(self) -> str:
        return f"Request body exceeds {self.limit} bytes."


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A `receive` that yields `messages` first, then the server's own."""
    pending = list(messages)

    async def replay_receive() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay_receive
