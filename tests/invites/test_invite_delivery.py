"""Invites end to end with real parts: HTTP -> outbox -> Redis -> RQ worker ->
SMTP server -> token out of the email -> sign-up -> accept -> member.
Fault tests: Redis down while inviting; a mail server that refuses."""

import time

import django_rq
import pytest
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, ScheduledJobRegistry

from tests.jobs.realparts import html_body, run_worker, text_body, token_from
from tests.support import ApiClient, unique_email

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-and-unguessable-passphrase"


def _outbox_row(invite_id):
    from platform_core.models import OutboxJob

    return OutboxJob.objects.get(func="tenant_apps.invites.jobs.send_invite_email", kwargs__invite_id=invite_id)


def _sign_up(world, email: str) -> ApiClient:
    root = ApiClient(world.root)
    r = root.post("/auth/signup", {"email": email, "password": PASSWORD, "name": "Invitee"})
    assert r.status_code == 201, r.content
    r = root.post("/auth/token", {"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.content
    return r.json()["access"]


def _invite_status(world, org, invite_id) -> str:
    r = ApiClient(world.host(org), token=world.token(org.owner)).get("/invites", {"limit": 200})
    return {i["id"]: i["status"] for i in r.json()["items"]}[invite_id]


def test_invite_email_accept_and_use(api, world, settings, smtp_server):
    """Created on a custom domain of A: the link still points at A's stored primary domain."""
    from shared_apps.orgs.models import Domain

    settings.PUBLIC_URL_SCHEME, settings.PUBLIC_URL_PORT = "https", "8443"
    Domain.objects.create(domain="tasks.acme-custom.test", tenant=world.a.org, is_primary=False)
    email = unique_email("Invitee")
    owner = ApiClient("tasks.acme-custom.test", token=world.token(world.a.owner))
    r = owner.post("/invites", {"email": email, "role": "admin"})
    assert r.status_code == 201, r.content
    invite_id = r.json()["id"]
    row = _outbox_row(invite_id)
    assert row.enqueued_at is not None  # pushed to Redis at commit

    run_worker()

    [message] = smtp_server.to(email)
    assert "Acme" in message["Subject"] and message["To"] == email.lower()
    link, token = token_from(message)
    assert link == f"https://acme.localhost:8443/invites/accept?token={token}"
    assert link in html_body(message) and "acme-custom" not in text_body(message)
    row.refresh_from_db()
    assert row.done_at is not None and row.kwargs == {}  # the token left the outbox

    # the job is idempotent: running it again sends nothing
    from django_tenants.utils import tenant_context

    from tenant_apps.invites.jobs import send_invite_email

    with tenant_context(world.a.org):
        assert send_invite_email(invite_id=invite_id, token=token) == "skipped: already sent"
    assert len(smtp_server.messages) == 1

    access = _sign_up(world, email)
    invitee = ApiClient(world.a.host, token=access)
    assert invitee.get("/org").status_code == 403
    r = invitee.post("/invites/accept", {"token": token})
    assert r.status_code == 200, r.content
    assert r.json()["org"]["domain"] == "acme.localhost" and r.json()["role"] == "admin"
    me = invitee.get("/org")
    assert me.status_code == 200 and me.json()["role"] == "admin"
    assert ApiClient(world.b.host, token=access).get("/org").status_code == 403
    assert _invite_status(world, world.a, invite_id) == "accepted"


def test_revoked_invite_is_not_emailed(api, world, smtp_server):
    email = unique_email()
    invite_id = api(world.a, world.a.owner).post("/invites", {"email": email, "role": "member"}).json()["id"]
    row = _outbox_row(invite_id)
    assert api(world.a, world.a.owner).delete(f"/invites/{invite_id}").status_code == 204
    run_worker()
    assert smtp_server.messages == []
    row.refresh_from_db()
    assert row.done_at is not None and row.kwargs == {}  # done (skipped), token erased


def test_redis_down_while_inviting(api, world, smtp_server, throwaway_redis):
    """Redis dies before the invite: the API still answers 201 and the outbox
    row waits in PostgreSQL; once Redis is back on the same port the sweeper
    enqueues it and the email goes out."""
    from platform_core.jobs import sweep_outbox

    throwaway_redis.kill()
    email = unique_email()
    started = time.monotonic()
    r = api(world.a, world.a.owner).post("/invites", {"email": email, "role": "member"})
    assert r.status_code == 201, r.content
    assert time.monotonic() - started < 5  # no hanging on the dead Redis
    row = _outbox_row(r.json()["id"])
    assert row.enqueued_at is None and row.done_at is None and row.schema_name == world.a.org.schema_name
    assert sweep_outbox(stale_after_seconds=0) == 0  # still down: nothing lost, nothing pushed

    throwaway_redis.start()  # same port
    connection = django_rq.get_connection("emails")
    assert connection.connection_pool.connection_kwargs["port"] == throwaway_redis.port
    assert sweep_outbox(stale_after_seconds=0) == 1
    run_worker("default", "emails", connection=connection)

    [message] = smtp_server.to(email)
    _, token = token_from(message)
    row.refresh_from_db()
    assert row.done_at is not None
    access = _sign_up(world, email)
    assert ApiClient(world.a.host, token=access).post("/invites/accept", {"token": token}).status_code == 200


def test_mail_server_refusing_retries_then_fails(api, world, settings, smtp_server):
    """550 on RCPT: the job fails, is scheduled for a retry (backoff), fails
    again and lands in RQ's failed registry; nothing is marked sent. An
    operator can requeue it once the mail server accepts again."""
    settings.RQ_RETRY_INTERVALS = [1]  # one retry, one second later
    smtp_server.refuse = "550 5.1.1 Mailbox unavailable"
    email = unique_email()
    invite_id = api(world.a, world.a.owner).post("/invites", {"email": email, "role": "member"}).json()["id"]
    row = _outbox_row(invite_id)
    job_id = f"outbox-{row.id}"
    redis = django_rq.get_connection("emails")

    run_worker()

    job = Job.fetch(job_id, connection=redis)
    assert job.get_status() == JobStatus.SCHEDULED and job.retries_left == 0
    assert job_id in ScheduledJobRegistry("emails", connection=redis)
    row.refresh_from_db()
    assert (row.attempts, row.done_at) == (1, None)

    run_worker()  # too early: the retry is not due yet
    assert Job.fetch(job_id, connection=redis).get_status() == JobStatus.SCHEDULED
    time.sleep(1.2)
    run_worker(with_scheduler=True)  # the scheduler enqueues the due retry; it fails again

    job = Job.fetch(job_id, connection=redis)
    assert job.get_status() == JobStatus.FAILED
    assert job_id in FailedJobRegistry("emails", connection=redis)
    assert "SMTPRecipientsRefused" in job.latest_result().exc_string
    row.refresh_from_db()
    assert (row.attempts, row.done_at) == (2, None)
    assert smtp_server.messages == []
    from django_tenants.utils import tenant_context

    from tenant_apps.invites.models import Invite

    with tenant_context(world.a.org):
        assert Invite.objects.get(id=invite_id).email_sent_at is None

    smtp_server.refuse = None
    FailedJobRegistry("emails", connection=redis).requeue(job_id)
    run_worker()
    assert len(smtp_server.to(email)) == 1
    row.refresh_from_db()
    assert row.done_at is not None


def test_redis_that_stops_answering_does_not_hang_the_request(api, world, settings):
    """A Redis that accepts connections but never answers (a partition, a stuck
    server): the enqueue times out, the API still answers 201 promptly, and
    the outbox row waits for the sweeper."""
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # the kernel completes handshakes; nobody ever reads or replies
    try:
        # the configured queue URL (with its timeouts), pointed at the silent port
        from urllib.parse import urlsplit

        configured = urlsplit(settings.RQ_QUEUES["default"]["URL"])
        url = configured._replace(netloc=f"127.0.0.1:{silent.getsockname()[1]}").geturl()
        assert "socket_timeout" in url
        settings.RQ_QUEUES = {n: {**settings.RQ_QUEUES[n], "URL": url} for n in ("default", "emails")}
        started = time.monotonic()
        r = api(world.a, world.a.owner).post("/invites", {"email": unique_email(), "role": "member"})
        assert r.status_code == 201, r.content
        assert time.monotonic() - started < 3
        row = _outbox_row(r.json()["id"])
        assert row.enqueued_at is None and row.done_at is None
    finally:
        silent.close()
