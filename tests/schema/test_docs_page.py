"""The interactive docs page renders in a real browser on both hosts (issue 15:
Chromium showed "Parser error: duplicated mapping key" and no operations).

Headless Chromium (Debian's package, installed by the `chromium` fixture)
loads /api/v1/docs of the root host and of two organizations' hosts from the
real server (`*.localhost` resolves to the loopback address in Chromium);
the DOM after the page's scripts ran must list the operations, by path and
operationId, with no parser error. The assets are the ones bundled with
Ninja: the page works with no internet access.
"""

import subprocess

import pytest

pytestmark = pytest.mark.slow


def rendered_dom(chromium: str, url: str, tmp_path) -> str:
    out = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=20000",
         "--dump-dom", url],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("localhost", ["/api/v1/auth/signup", "signUp", "/api/v1/orgs", "createOrg"]),
        ("schema-a.localhost", ["/api/v1/tasks", "createTask", "/api/v1/tasks/{task_id}/move", "moveTask",
                                "/api/v1/boards", "listBoards"]),
        ("schema-b.localhost", ["/api/v1/tasks", "listTasks"]),
    ],
)
def test_docs_page_lists_the_operations(stack, chromium, tmp_path, host, expected):
    dom = rendered_dom(chromium, f"http://{host}:{stack.port}/api/v1/docs", tmp_path)
    assert "swagger-ui" in dom, dom[:2000]
    assert "Parser error" not in dom and "duplicated mapping key" not in dom
    assert dom.count('class="opblock ') >= 5, dom[-3000:]
    for text in expected:
        assert text in dom, (text, dom[-3000:])
