"""An SSE client speaking ASGI to the real application (the whole middleware
stack, body limit included, as under granian) in a background thread."""

import asyncio
import json
import queue
import threading
import time


class Subscriber:
    """An SSE client speaking ASGI to the real application in a background thread
    (the whole middleware stack, as under granian); closing it sends
    `http.disconnect`, as a client going away does."""

    def __init__(self, host: str, path: str, token: str | None = None, via_query: bool = False):
        self.chunks: queue.Queue[str] = queue.Queue()
        self.status: int | None = None
        self.body = b""
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._disconnect: asyncio.Event | None = None
        path, _, query = path.partition("?")
        if token and via_query:
            query = f"access_token={token}"
        headers = [(b"host", host.encode())]
        if token and not via_query:
            headers.append((b"authorization", f"Bearer {token}".encode()))
        self._scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query.encode(),
            "headers": headers, "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
        }
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "stream did not start"

    async def _main(self) -> None:
        from asgiref.sync import sync_to_async
        from django.db import connections

        from platform_core.asgi import application

        self._loop = asyncio.get_running_loop()
        self._disconnect = asyncio.Event()

        async def receive():
            if self._scope.pop("_sent", False):
                await self._disconnect.wait()
                return {"type": "http.disconnect"}
            self._scope["_sent"] = True
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            if message["type"] == "http.response.start":
                self.status = message["status"]
            elif message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                if self.status != 200:
                    self.body += chunk
                elif chunk:
                    self.chunks.put(chunk.decode())
                    self._ready.set()  # the first chunk arrives once subscribed
                if not message.get("more_body") and self.status != 200:
                    self._ready.set()

        try:
            await application(dict(self._scope), receive, send)
        finally:
            await sync_to_async(connections.close_all)()
            self._ready.set()

    def events(self, wait: float, count: int | None = None) -> list[tuple[str, dict]]:
        """Events received within `wait` seconds (or as soon as `count` arrived)."""
        deadline = time.monotonic() + wait
        out = []
        while time.monotonic() < deadline and (count is None or len(out) < count):
            try:
                chunk = self.chunks.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            fields = dict(
                line.split(": ", 1) for line in chunk.strip().splitlines() if ": " in line and not line.startswith(":")
            )
            if "event" in fields:
                out.append((fields["event"], json.loads(fields["data"])))
        return out

    def close(self) -> None:
        """Disconnect; Django cancels the stream, which unsubscribes."""
        if self._loop and self._disconnect:
            self._loop.call_soon_threadsafe(self._disconnect.set)
        self._thread.join(5)
        assert not self._thread.is_alive(), "the stream did not end on disconnect"

    def ended(self, within: float) -> bool:
        """Whether the server ended the stream (the application returned) within `within` s."""
        self._thread.join(within)
        return not self._thread.is_alive()
