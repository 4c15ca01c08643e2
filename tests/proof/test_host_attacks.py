"""The Host header is the only tenant selector: attacks on it.

Each odd host is sent with A's owner token to `GET /api/v1/org` and the
answer is classified: A's organization (200, slug acme), B's (403
not_a_member: the host selected globex), the root host (404 not_found: the
root API has no /org), or unknown (404 unknown_host). Every case names the
outcomes it accepts; none may be a 500 or another tenant.

Also: deleted, spare and suspended organizations; forwarded-host headers;
invite links built from the organization's stored domain, never the request's
Host (the email is rendered by the outbox job, tenant_apps/invites/jobs.py).
"""

import re
import uuid

import pytest
from django.core import mail
from django_tenants.utils import schema_context

from tests.proof.conftest import API_PREFIX, fill_path, in_process_schema, operations, request
from tests.support import ApiClient

pytestmark = pytest.mark.django_db

ACME, GLOBEX, ROOT, UNKNOWN = "acme", "globex", "root", "unknown"


def classify(world, host: str, **headers) -> str:
    r = ApiClient(host, token=world.token(world.a.owner)).get("/org", **headers)
    assert r.status_code < 500, (host, r.status_code, r.content)
    body = r.json()
    assert {"code", "detail"} <= set(body) or r.status_code == 200, (host, body)
    if r.status_code == 200:
        assert body["slug"] == "acme", (host, body)  # the only org A's owner can read
        return ACME
    if r.status_code == 403 and body["code"] == "not_a_member":
        return GLOBEX
    if r.status_code == 404 and body["code"] == "not_found":
        return ROOT
    if r.status_code == 404 and body["code"] == "unknown_host":
        return UNKNOWN
    raise AssertionError(f"{host!r}: unexpected answer {r.status_code} {body}")


HOSTS = {
    # the right organization, however it is spelled
    "acme.localhost": {ACME},
    "ACME.LOCALHOST": {ACME},
    "Acme.LocalHost": {ACME},
    "acme.localhost.": {ACME},
    "acme.localhost:8000": {ACME},
    "ACME.localhost.:8000": {ACME},
    "acme.localhost:65535": {ACME},
    # every trailing dot is stripped (tenancy.normalize_host): still A, never another tenant
    "acme.localhost..": {ACME},
    "globex.localhost": {GLOBEX},
    "localhost": {ROOT},
    "LOCALHOST.:8000": {ROOT},
    # unknown subdomains and look-alikes
    "nope.localhost": {UNKNOWN},
    "acme": {UNKNOWN},
    "acme.localhost.evil.com": {UNKNOWN},
    "evil.com.acme.localhost": {UNKNOWN},
    "www.acme.localhost": {UNKNOWN},
    "acme-corp.localhost": {UNKNOWN},
    "acme.localhos": {UNKNOWN},
    "acme..localhost": {UNKNOWN},
    ".acme.localhost": {UNKNOWN},
    "-acme.localhost": {UNKNOWN},
    "acme.localhost:": {UNKNOWN},
    "acme.localhost:80:80": {UNKNOWN},
    "acme.localhost:abc": {UNKNOWN},
    "*.localhost": {UNKNOWN},
    # IP literals
    "127.0.0.1": {UNKNOWN},
    "127.0.0.1:8000": {UNKNOWN},
    "0.0.0.0": {UNKNOWN},
    "2130706433": {UNKNOWN},
    "[::1]": {UNKNOWN},
    "[::1]:8000": {UNKNOWN},
    "::1": {UNKNOWN},
    "[::ffff:127.0.0.1]": {UNKNOWN},
    "[acme.localhost]": {UNKNOWN},
    # over-long labels and hosts
    "a" * 63 + ".localhost": {UNKNOWN},
    "a" * 64 + ".localhost": {UNKNOWN},
    ("a" * 63 + ".") * 3 + "a" * 51 + ".localhost": {UNKNOWN},  # 253 characters
    ("a" * 63 + ".") * 3 + "a" * 52 + ".localhost": {UNKNOWN},  # 254
    "a" * 10000 + ".localhost": {UNKNOWN},
    "acme." * 60 + "localhost": {UNKNOWN},
    # empty, userinfo, paths, spaces, control characters, lists
    "": {UNKNOWN},
    " ": {UNKNOWN},
    "owner@acme.localhost": {UNKNOWN},
    "acme.localhost@globex.localhost": {UNKNOWN},
    "globex.localhost@acme.localhost": {UNKNOWN},
    "acme.localhost/": {UNKNOWN},
    "acme.localhost/../globex.localhost": {UNKNOWN},
    "acme.localhost?x=globex.localhost": {UNKNOWN},
    "acme.localhost#globex": {UNKNOWN},
    "acme.localhost globex.localhost": {UNKNOWN},
    " acme.localhost": {UNKNOWN},
    "acme.localhost\t": {UNKNOWN},
    "acme.localhost\r\nX-Evil: 1": {UNKNOWN},
    "acme.localhost\x00": {UNKNOWN},
    "acme.localhost,globex.localhost": {UNKNOWN},
    "globex.localhost, acme.localhost": {UNKNOWN},
    "acme%2elocalhost": {UNKNOWN},
    "acme\\.localhost": {UNKNOWN},
    # punycode and unicode look-alikes
    "xn--acme-9pa.localhost": {UNKNOWN},
    "xn--80ak6aa92e.localhost": {UNKNOWN},
    "acm\u00e9.localhost": {UNKNOWN},
    "\u0430cme.localhost": {UNKNOWN},  # Cyrillic a
    "\uff41cme.localhost": {UNKNOWN},  # full-width a
    "ACME.LOCALHOST\u3002": {UNKNOWN},  # ideographic full stop
}


@pytest.mark.parametrize("host", list(HOSTS), ids=[repr(h)[:60] for h in HOSTS])
def test_odd_hosts(world, host):
    assert classify(world, host) in HOSTS[host]


@pytest.mark.parametrize(
    "header",
    [
        "HTTP_X_FORWARDED_HOST",
        "HTTP_FORWARDED",
        "HTTP_X_ORIGINAL_HOST",
        "HTTP_X_HOST",
        "HTTP_X_FORWARDED_SERVER",
        "HTTP_X_REWRITE_URL",
        "SERVER_NAME",
    ],
)
def test_forwarded_host_headers_are_ignored(world, header):
    for value in (world.b.host, f"host={world.b.host}", "nope.localhost", "localhost"):
        assert classify(world, world.a.host, **{header: value}) == ACME
    assert classify(world, "nope.localhost", **{header: world.a.host}) == UNKNOWN
    assert classify(world, world.b.host, **{header: world.a.host}) == GLOBEX


def test_custom_domain_selects_only_its_org(world):
    from provisioning.services import domain_add

    assert classify(world, "tasks.acme-corp.test") == UNKNOWN  # a cached miss first
    domain_add(org=world.a.org, domain="Tasks.Acme-Corp.test", actor_id=world.operator.id)
    for host in ("tasks.acme-corp.test", "TASKS.ACME-CORP.TEST.", "tasks.acme-corp.test:8443"):
        assert classify(world, host) == ACME, host
    for host in (
        "acme-corp.test",
        "x.tasks.acme-corp.test",
        "tasks.acme-corp.test.localhost",
        "tasks.acme-corp.test.evil.com",
    ):
        assert classify(world, host) == UNKNOWN, host
    # it never becomes a door into B
    r = ApiClient("tasks.acme-corp.test", token=world.token(world.b.owner)).get("/org")
    assert r.status_code == 403 and "globex" not in r.content.decode().lower()


# --- organizations that must not answer ------------------------------------------------------------


def test_deleted_org_host_is_404_at_once(world):
    from provisioning.services import domain_add, org_delete
    from shared_apps.orgs.models import Domain

    domain_add(org=world.a.org, domain="tasks.acme-gone.test", actor_id=world.operator.id)
    assert classify(world, world.a.host) == ACME  # cached as active
    assert classify(world, "tasks.acme-gone.test") == ACME
    org_delete(org=world.a.org, actor_id=world.operator.id)
    for host in (world.a.host, "tasks.acme-gone.test", "ACME.localhost.:8000"):
        assert classify(world, host) == UNKNOWN, host
    # a domain row left behind (restored by hand, say) still does not open it
    Domain.objects.create(domain=world.a.host, tenant=world.a.org, is_primary=True)
    assert classify(world, world.a.host) == UNKNOWN
    assert classify(world, world.b.host) == GLOBEX


@pytest.mark.parametrize("status", ["spare", "deleted", "bogus"])
def test_spare_or_deleted_org_with_a_domain_is_404(world, status):
    from shared_apps.orgs.models import Domain, Organization, new_schema_name

    org = Organization(
        schema_name=new_schema_name(), status=status, name="Ghost", slug=f"ghost-{status}"
    )
    org.auto_create_schema = False  # no schema needed: the host must not get that far
    org.save()
    Domain.objects.create(domain=f"ghost-{status}.localhost", tenant=org, is_primary=True)
    host = f"ghost-{status}.localhost"
    assert classify(world, host) == UNKNOWN
    r = ApiClient(host).get(f"{API_PREFIX}/openapi.json")
    assert r.status_code == 404 and r.json()["code"] == "unknown_host"
    # the schema name as a subdomain is no host either (underscores are not allowed)
    assert classify(world, f"{org.schema_name}.localhost") == UNKNOWN


TENANT_OPS = operations(in_process_schema("tenant"))


def test_suspended_org_answers_403_everywhere(world):
    from provisioning.services import org_resume, org_suspend

    assert classify(world, world.a.host) == ACME  # cached as active
    org_suspend(org=world.a.org, actor_id=world.operator.id)
    ids = dict.fromkeys(("board", "list", "task", "comment", "invite", "user"), uuid.uuid4())
    ids["token"] = 1  # API token ids are integers
    callers = {
        "owner": world.token(world.a.owner),
        "B owner": world.token(world.b.owner),
        "anonymous": None,
    }
    for op in TENANT_OPS:
        for who, token in callers.items():
            for host in (world.a.host, "ACME.localhost.:8000"):
                r = request(ApiClient(host, token=token), op.method, fill_path(op, ids), {})
                assert r.status_code == 403, (op.id, who, r.status_code)
                assert r.json()["code"] == "org_suspended", (op.id, who)
    r = ApiClient(world.a.host).get(f"{API_PREFIX}/openapi.json")
    assert r.status_code == 403 and r.json()["code"] == "org_suspended"
    assert ApiClient(world.a.host).get("/healthz").status_code == 200
    assert classify(world, world.b.host) == GLOBEX
    assert (
        ApiClient(world.b.host, token=world.token(world.b.owner)).get("/boards").status_code == 200
    )
    org_resume(org=world.a.org, actor_id=world.operator.id)
    assert classify(world, world.a.host) == ACME


# --- invite links come from the stored domain -------------------------------------------------------


def _send_outbox(world, invite_id: str):
    """Run the invite's outbox job as a worker would: inside A's schema."""
    from platform_core.jobs import run_outbox_job
    from platform_core.models import OutboxJob

    row = OutboxJob.objects.get(kwargs__invite_id=invite_id)
    assert row.schema_name == world.a.org.schema_name
    with schema_context(row.schema_name):
        assert run_outbox_job(str(row.id)) == "sent"


SPOOFS = {
    "odd spelling of A's host": ("ACME.localhost.:8000", {}),
    "X-Forwarded-Host": (None, {"HTTP_X_FORWARDED_HOST": "evil.example"}),
    "Forwarded": (None, {"HTTP_FORWARDED": "host=evil.example;proto=http"}),
    "X-Forwarded-Host + port + proto": (
        "acme.localhost:8000",
        {
            "HTTP_X_FORWARDED_HOST": "evil.example:6666",
            "HTTP_X_FORWARDED_PROTO": "http",
            "HTTP_X_FORWARDED_PORT": "6666",
        },
    ),
}


@pytest.mark.parametrize("spoof", list(SPOOFS))
def test_invite_link_uses_stored_domain_not_request_host(
    world, settings, django_capture_on_commit_callbacks, spoof
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PUBLIC_URL_SCHEME, settings.PUBLIC_URL_PORT = "https", ""
    host, headers = SPOOFS[spoof]
    email = f"spoof-{uuid.uuid4().hex[:8]}@example.com"
    owner = ApiClient(host or world.a.host, token=world.token(world.a.owner))
    with django_capture_on_commit_callbacks(execute=True):
        r = owner.post("/invites", {"email": email, "role": "member"}, **headers)
    assert r.status_code == 201, r.content
    mail.outbox.clear()
    _send_outbox(world, r.json()["id"])

    [message] = mail.outbox
    assert message.to == [email]
    html = message.alternatives[0][0]
    everything = "\n".join([message.subject, message.body, html, str(message.message())])
    links = set(re.findall(r"https?://[^\s\"'<>]+", message.body + html))
    assert links, message.body
    for link in links:
        assert link.startswith("https://acme.localhost/invites/accept?token="), link
    for bad in ("evil", "6666", ":8000", "ACME.localhost", "localhost.:", "globex"):
        assert bad not in everything, (bad, spoof)


def test_invite_email_escapes_the_org_name(world, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    owner = ApiClient(world.a.host, token=world.token(world.a.owner))
    assert (
        owner.patch("/org", {"name": '<a href="https://evil.example">Acme</a>'}).status_code == 200
    )
    with django_capture_on_commit_callbacks(execute=True):
        r = owner.post(
            "/invites", {"email": f"esc-{uuid.uuid4().hex[:8]}@example.com", "role": "member"}
        )
    assert r.status_code == 201, r.content
    mail.outbox.clear()
    _send_outbox(world, r.json()["id"])
    [message] = mail.outbox
    html = message.alternatives[0][0]
    assert '<a href="https://evil.example">' not in html
    assert "&lt;a href=" in html
