"""Organization names are quoted, not trusted, in emails (issue 11, finding 9c).

An owner could put a phishing line in the organization's name and it went out
verbatim in invite subjects. Now:
- the API refuses names with control characters, line breaks or bidi
  overrides (422; the OpenAPI schema states the pattern);
- whatever name is stored (older rows, operators' tools), invite and summary
  emails show it on one line, in quotes, at most 50 characters with an
  ellipsis; the inviter's name is one bounded line too
  (platform_core.emails.one_line / quoted). Real worker, real SMTP server.
"""

import re
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from platform_core.emails import NAME_MAX_CHARS, SUBJECT_MAX_CHARS, one_line, quoted
from tests.jobs.realparts import html_body, run_worker, text_body
from tests.support import add_member, make_user, unique_email

HOSTILE_NAMES = [
    "Acme\r\nBcc: victim@evil.example",
    "Acme\nURGENT: verify your password at http://evil.example",
    "Acme\tCorp",
    "\nAcme",
    "Acme\u2028Bcc: x@evil.example",
    "\u202eelpmaxe.live",  # right-to-left override
    "Acme\x85Corp",  # C1 next-line
    "Acme\x1b[31m",
]
PHISHING = "Acme\r\nBcc: victim@evil.example\r\nURGENT: verify your password at http://evil.example/login today"
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _set_name_bypassing_the_api(org, name: str) -> None:
    """A name stored before validation existed (or by an operator's tool)."""
    from shared_apps.orgs.models import Organization

    Organization.objects.filter(id=org.id).update(name=name)


# --- input validation ----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_org_names_with_control_characters_are_422(api, world, name):
    r = api("root", world.outsider).post("/orgs", {"name": name, "slug": f"ctl-{uuid.uuid4().hex[:8]}"})
    assert r.status_code == 422, r.content
    assert r.json()["code"] == "validation_error" and r.json()["errors"][0]["loc"][-1] == "name"
    r = api(world.a, world.a.owner).patch("/org", {"name": name})
    assert r.status_code == 422, r.content
    assert api(world.a, world.a.owner).get("/org").json()["name"] == "Acme"
    assert api(world.b, world.b.owner).get("/org").json()["name"] == "Globex"


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["Ünïcödé & Co. 日本", "URGENT: a fine name", "Acme  (EU)", '"Quoted" Inc'])
def test_ordinary_org_names_are_accepted(api, world, name):
    r = api(world.a, world.a.owner).patch("/org", {"name": name})
    assert r.status_code == 200 and r.json()["name"] == name
    assert api(world.b, world.b.owner).get("/org").json()["name"] == "Globex"


@pytest.mark.django_db
def test_openapi_states_the_org_name_rule(api, world):
    from shared_apps.orgs.schemas import ORG_NAME_RULE
    from shared_apps.orgs.validation import ORG_NAME_PATTERN

    for host, schema_name in (("root", "OrgCreateIn"), (world.a, "OrgUpdateIn")):
        schema = api(host).get("/api/v1/openapi.json").json()
        name = schema["components"]["schemas"][schema_name]["properties"]["name"]
        assert name["description"] == ORG_NAME_RULE and name["maxLength"] == 100
    pattern = re.compile(ORG_NAME_PATTERN)
    assert pattern.match("Ünïcödé & Co.") and not any(pattern.match(n) for n in HOSTILE_NAMES)


# --- the helpers ------------------------------------------------------------------------------------


@given(st.text(max_size=400))
def test_quoted_is_one_bounded_line_whatever_the_name(name):
    out = quoted(name)
    assert out.startswith("“") and out.endswith("”") and out.count("“") == 1 and out.count("”") == 1
    assert len(out) <= NAME_MAX_CHARS + 2
    assert not CONTROL.search(out) and out == " ".join(out.split())


def test_one_line_cuts_with_an_ellipsis():
    assert one_line("a" * 60, limit=50) == "a" * 49 + "…"
    assert one_line("Acme\r\nBcc: x", limit=50) == "Acme Bcc: x"
    assert quoted("“Acme”") == "“\"Acme\"”"


# --- the emails, end to end ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_invite_subject_is_one_quoted_bounded_line(api, world, smtp_server):
    _set_name_bypassing_the_api(world.a.org, PHISHING)
    mallory = make_user(unique_email("mallory"), name="Mallory\r\nBcc: x@evil.example\r\nURGENT")
    add_member(world.a.org, mallory, "admin")
    victim, bystander = unique_email("victim"), unique_email("bystander")
    assert api(world.a, mallory).post("/invites", {"email": victim, "role": "member"}).status_code == 201
    assert api(world.b, world.b.owner).post("/invites", {"email": bystander, "role": "member"}).status_code == 201
    run_worker()

    [message] = smtp_server.to(victim)
    # (a long encoded subject is folded onto the next header line; the parser keeps that space)
    subject = str(message["Subject"]).strip()
    assert subject == (
        "Mallory Bcc: x@evil.example URGENT invited you to join "
        "“Acme Bcc: victim@evil.example URGENT: verify your…” on TaskHub"
    )
    assert len(subject) <= SUBJECT_MAX_CHARS and not CONTROL.search(subject)
    assert message["Bcc"] is None and message.get_all("Bcc") is None
    headers = message.as_bytes().split(b"\n\n", 1)[0].decode()
    assert not re.search(r"^bcc:", headers, re.I | re.M), headers
    assert [r for m in smtp_server.messages for r in m["rcpt"] if "evil" in r] == []

    text, html = text_body(message), html_body(message)
    [line] = [ln for ln in text.splitlines() if "invited you to join" in ln]
    assert "“Acme Bcc: victim@evil.example URGENT: verify your…”" in line
    assert not any(ln.lstrip().startswith(("URGENT", "Bcc:")) for ln in text.splitlines())
    assert "http://evil.example/login" not in text + html  # cut off by the bound
    assert "<strong>“Acme Bcc: victim@evil.example URGENT: verify your…”</strong>" in html

    # B's invite names B, quoted, and nothing of A
    [other] = smtp_server.to(bystander)
    assert str(other["Subject"]).strip() == f"{world.b.owner.name} invited you to join “Globex” on TaskHub"
    assert "evil" not in other.as_string() and "Mallory" not in other.as_string()


@pytest.mark.django_db(transaction=True)
def test_summary_subject_quotes_the_org_name(api, world, smtp_server):
    from django_tenants.utils import tenant_context

    from tenant_apps.boards.summaries import send_org_summaries

    owner = api(world.a, world.a.owner)
    board = owner.post("/boards", {"name": "Launch"}).json()
    task_list = owner.post(f"/boards/{board['id']}/lists", {"name": "To do"}).json()
    due = (timezone.now() - timedelta(days=1)).isoformat()
    r = owner.post("/tasks", {"list_id": task_list["id"], "title": "Overdue", "assignee_id": str(world.a.member.id),
                              "due_at": due})
    assert r.status_code == 201, r.content
    _set_name_bypassing_the_api(world.a.org, PHISHING)  # the job reads the organization afresh

    with tenant_context(world.a.org):
        assert send_org_summaries(org_id=str(world.a.org.id), day=timezone.localdate().isoformat()) >= 1
    [message] = smtp_server.to(world.a.member.email)
    subject = str(message["Subject"]).strip()
    assert subject.startswith("Your tasks in “Acme Bcc: victim@evil.example URGENT: verify your…” for "), subject
    assert len(subject) <= SUBJECT_MAX_CHARS and not CONTROL.search(subject) and message["Bcc"] is None
    assert "“Acme Bcc: victim@evil.example URGENT: verify your…”" in text_body(message)
    assert not any(ln.startswith("URGENT") for ln in text_body(message).splitlines())
    # organization B's members got nothing from A
    assert smtp_server.to(world.b.member.email) == []
