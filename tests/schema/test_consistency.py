"""One timestamp format and one change shape everywhere (issue 15: milliseconds
in REST, microseconds on the live stream; `invite.accepted` changes unlike
every other event's).

The live stream's `data:` is `event_payload(event)`; it must be byte-for-byte
what GET /audit answers for the same event, timestamps included (inside
`changes` too). Both organizations, each seeing only its own events.
"""

import re

import pytest
from django_tenants.utils import schema_context

from tenant_apps.audit.models import AuditEvent
from tenant_apps.audit.services import event_payload

pytestmark = pytest.mark.django_db

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z")


def _timestamps(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _timestamps(v)
    elif isinstance(value, list):
        for v in value:
            yield from _timestamps(v)
    elif isinstance(value, str) and re.match(r"\d{4}-\d\d-\d\dT", value):
        yield value


def test_live_payload_equals_the_rest_event(api, world):
    seen = {}
    for org in (world.a, world.b):
        owner = api(org, org.owner)
        board = owner.post("/boards", {"name": "Timestamps"}).json()
        todo = owner.post(f"/boards/{board['id']}/lists", {"name": "To do"}).json()
        task = owner.post("/tasks", {"list_id": todo["id"], "title": "Due", "due_at": "2026-05-01T10:20:30.123456Z"})
        task = task.json()
        assert task["due_at"] == "2026-05-01T10:20:30.123Z"
        assert TIMESTAMP.fullmatch(task["created_at"])
        items = owner.get("/audit", {"target_id": task["id"]}).json()["items"]
        (item,) = items
        assert item["action"] == "task.created"
        with schema_context(org.org.schema_name):
            event = AuditEvent.objects.get(id=item["id"])
        live = event_payload(event)
        assert live == item
        stamps = list(_timestamps(live))
        assert live["at"] in stamps and "2026-05-01T10:20:30.123Z" in stamps
        assert all(TIMESTAMP.fullmatch(s) for s in stamps), stamps
        seen[org.host] = item["id"]
    # each organization's audit log holds only its own event
    for org in (world.a, world.b):
        ids = {i["id"] for i in api(org, org.owner).get("/audit", {"limit": 200}).json()["items"]}
        assert seen[org.host] in ids
        assert not (set(seen.values()) - {seen[org.host]}) & ids
