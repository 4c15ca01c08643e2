"""Real parts for job tests: an SMTP server (aiosmtpd), an RQ worker in burst
mode in the test process, and a throwaway redis-server we may kill.

Fixtures here are re-exported by tests/jobs/conftest.py and tests/invites/conftest.py.
"""

import email
import email.policy
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- SMTP ------------------------------------------------------------------------------


@dataclass
class SmtpRecorder:
    """aiosmtpd handler: keeps every accepted message; `refuse` makes RCPT fail."""

    messages: list = field(default_factory=list)
    refuse: str | None = None  # e.g. "550 5.1.1 No such user"
    refuse_only: set | None = None  # refuse just these addresses (None: everyone)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse and (self.refuse_only is None or address.lower() in self.refuse_only):
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append({"rcpt": list(envelope.rcpt_tos), "message": message})
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list:
        return [m["message"] for m in self.messages if address.lower() in [r.lower() for r in m["rcpt"]]]


def text_body(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


def html_body(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content().replace("\r\n", "\n")


def token_from(message) -> tuple[str, str]:
    """(accept link, token) from an invite email's text part."""
    match = re.search(r"(\S+/invites/accept\?token=([A-Za-z0-9_-]+))", text_body(message))
    assert match, text_body(message)
    return match.group(1), match.group(2)


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on a free loopback port; Django's SMTP backend points at it."""
    from aiosmtpd.controller import Controller

    recorder = SmtpRecorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    try:
        yield recorder
    finally:
        controller.stop()


# --- RQ worker ------------------------------------------------------------------------------


def queue_url() -> str:
    """Where the queues live (settings.RQ_QUEUES; tests may point them elsewhere)."""
    from django.conf import settings

    return settings.RQ_QUEUES["default"]["URL"]


def run_worker(*queue_names: str, connection=None, with_scheduler: bool = False, max_jobs: int | None = None) -> bool:
    """A real RQ worker (SimpleWorker: no fork, same DB connection), burst mode,
    on the project's queues; the job and queue classes of the `rqworker` command."""
    import django_rq
    from rq import SimpleWorker

    from platform_core.jobs import TenantJob, TenantQueue

    names = queue_names or ("default", "emails")
    connection = connection or django_rq.get_connection(names[0])
    queues = [
        django_rq.get_queue(n, connection=connection, queue_class=TenantQueue, job_class=TenantJob) for n in names
    ]
    worker = SimpleWorker(queues, connection=connection, job_class=TenantJob, queue_class=TenantQueue)
    return worker.work(burst=True, with_scheduler=with_scheduler, max_jobs=max_jobs, logging_level="WARNING")


# --- a Redis we own (never the shared one) --------------------------------------------------


class ThrowawayRedis:
    def __init__(self):
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        import redis

        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        for _ in range(100):
            try:
                if client.ping():
                    return
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("throwaway redis-server did not start")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None


@pytest.fixture
def throwaway_redis(settings):
    """Our own redis-server; RQ_QUEUES point at it (the shared Redis keeps serving the cache)."""
    server = ThrowawayRedis()
    server.start()
    settings.RQ_QUEUES = {
        name: {"URL": server.url, "DEFAULT_TIMEOUT": 300} for name in ("default", "emails")
    }
    try:
        yield server
    finally:
        server.kill()

