"""Load with checks, the CI variant of proof/load (docs/PROOF.md): concurrent
clients of several organizations mixing reads and writes against a real
granian server (production settings, 2 workers); every response holds only
its organization's names; at the end the audit events match the successful
mutations one for one per organization and action, and no organization's
schema holds another's slug. Its own PostgreSQL/Redis/granian, as every test here."""

import pytest

from proof import load

pytestmark = pytest.mark.slow


def test_the_leak_checks_see_a_foreign_name():
    """The checker itself: a name of another organization in a response is a leak."""
    client = load.Client("http://127.0.0.1:1", {"slug": "ld01", "host": "x"}, {"token": ""}, ["ld01", "ld02"],
                         {"id": "b", "lists": []}, 0, 0, load.Budget(0))
    client.check_names("board.detail", {"lists": [{"name": "ld01 todo", "tasks": [{"title": "ld01 task"}]}]})
    assert client.leaks == []
    client.check_names("board.detail", {"lists": [{"name": "ld01 todo", "tasks": [{"title": "ld02 task 1-1"}]}]})
    assert len(client.leaks) == 2  # the foreign token, and a name not of this organization
    client.check_names("task.list", {"items": [{"title": "untagged"}]})
    assert len(client.leaks) == 3


def test_load_many_orgs_no_error_no_leak_no_lost_audit_event(golden_pg):
    summary = load.run(orgs=6, users=2, duration=12, max_requests=20000, workers=2, golden=golden_pg)
    print("LOAD-FIGURES", summary)
    assert summary["requests"] > 200
    assert summary["mutations"] > 100 and summary["by_op"].get("board.detail", 0) > 20
    assert summary["errors"] == 0, summary["samples"]["errors"]
    assert summary["leaks"] == 0, summary["samples"]["leaks"]
    assert summary["lost_audit_events"] == 0, summary["samples"]["lost"]
    assert summary["extra_audit_events"] == 0, summary["samples"]["extra"]
    assert summary["server_error_log_lines"] == 0
