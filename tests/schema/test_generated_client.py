"""A client generated from the served schemas with openapi-python-client runs
the integrator's flow against the real server: sign-up -> token ->
organization (root host) -> board -> list -> task (the organization's host,
its schema fetched from the root host's /api/v1/org-openapi.json before the
organization exists).

The webhook step of issue 15's flow is not here: webhooks are not built yet
(their operations will join this flow when they are).

Isolation: the task created through the client is a 404 on another
organization's host, through the same generated client.
"""

import contextlib
import importlib
import os
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

VENV_BIN = Path(sys.executable).parent


def generate(stack, tmp_path: Path, *, schema_path: str, package: str):
    req = urllib.request.Request(stack.url + schema_path, headers={"Host": "localhost"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        (tmp_path / f"{package}.json").write_bytes(resp.read())
    (tmp_path / f"{package}.yml").write_text(f"package_name_override: {package}\n")
    out = subprocess.run(
        [str(VENV_BIN / "openapi-python-client"), "generate", "--path", str(tmp_path / f"{package}.json"),
         "--output-path", str(tmp_path / package), "--meta", "none", "--config", str(tmp_path / f"{package}.yml")],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}"},
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "Warning" not in out.stdout, out.stdout[-3000:]
    return importlib.import_module(package)


@pytest.fixture(scope="module")
def clients(stack, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("generated")
    sys.path.insert(0, str(tmp_path))
    try:
        yield (generate(stack, tmp_path, schema_path="/api/v1/openapi.json", package="taskhub_root"),
               generate(stack, tmp_path, schema_path="/api/v1/org-openapi.json", package="taskhub_org"))
    finally:
        sys.path.remove(str(tmp_path))


def test_signup_org_board_task_through_the_generated_client(stack, clients):
    root, org = clients
    with contextlib.ExitStack() as opened:
        _flow(stack, root, org, opened)


def _flow(stack, root, org, opened):
    from taskhub_org.api.boards import create_board
    from taskhub_org.api.lists import create_list
    from taskhub_org.api.tasks import create_task, get_task, list_tasks
    from taskhub_org.models import (
        BoardCreateIn,
        Error,
        ListCreateIn,
        Priority,
        TaskCreateIn,
        TaskOrdering,
        TaskOut,
        TaskStatus,
    )
    from taskhub_root.api.auth import create_token, sign_up
    from taskhub_root.api.organizations import create_org
    from taskhub_root.models import OrgCreateIn, OrgOut, Role, SignupIn, TokenIn, TokenPairOut, UserOut

    anon = opened.enter_context(
        root.Client(base_url=stack.url, headers={"Host": "localhost"}, raise_on_unexpected_status=True)
    )
    user = sign_up.sync(client=anon, body=SignupIn(email="gen@client.test", password="generated-Client-2026",
                                                    name="Generated Client"))
    assert isinstance(user, UserOut) and user.email == "gen@client.test"
    pair = create_token.sync(client=anon, body=TokenIn(email="gen@client.test", password="generated-Client-2026"))
    assert isinstance(pair, TokenPairOut)

    signed_in = opened.enter_context(root.AuthenticatedClient(
        base_url=stack.url, token=pair.access, headers={"Host": "localhost"}, raise_on_unexpected_status=True))
    created = create_org.sync(client=signed_in, body=OrgCreateIn(name="Generated", slug="gen-client"))
    assert isinstance(created, OrgOut) and created.role == Role.OWNER
    assert created.domain == "gen-client.localhost"

    on_org = opened.enter_context(org.AuthenticatedClient(
        base_url=stack.url, token=pair.access, headers={"Host": created.domain}, raise_on_unexpected_status=True))
    board = create_board.sync(client=on_org, body=BoardCreateIn(name="Launch"))
    todo = create_list.sync(client=on_org, board_id=board.id, body=ListCreateIn(name="To do"))
    due = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    task = create_task.sync(client=on_org, body=TaskCreateIn(list_id=todo.id, title="Ship it",
                                                             priority=Priority.HIGH, due_at=due))
    assert isinstance(task, TaskOut)
    assert (task.board_id, task.list_id, task.priority, task.status) == (board.id, todo.id, Priority.HIGH,
                                                                        TaskStatus.OPEN)
    assert task.due_at == due

    again = get_task.sync(client=on_org, task_id=task.id)
    assert isinstance(again, TaskOut) and again.title == "Ship it"
    page = list_tasks.sync(client=on_org, ordering=TaskOrdering.CREATED_AT_DESC, priority=Priority.HIGH)
    assert [t.id for t in page.items] == [task.id] and page.next_cursor is None

    # Errors come back as the one Error model, never None.
    invalid = create_task.sync_detailed(client=on_org, body=TaskCreateIn(list_id=todo.id, title=" "))
    assert invalid.status_code == 422 and isinstance(invalid.parsed, Error)
    assert invalid.parsed.code == "validation_error" and invalid.parsed.errors

    # Another organization: the same ids are not found there, through the same client.
    other = stack.orgs[1]
    elsewhere = opened.enter_context(org.AuthenticatedClient(
        base_url=stack.url, token=other["users"][0]["token"], headers={"Host": other["host"]}))
    missing = get_task.sync_detailed(client=elsewhere, task_id=task.id)
    assert missing.status_code == 404 and isinstance(missing.parsed, Error)
    assert missing.parsed.code == "not_found"
