"""ops/test never looks green without having run the suite (issue 11, finding 12).

Each case runs the real `ops/test` in a subprocess (same PostgreSQL/Redis
ports as this run, so its set-up is a no-op) on a tiny throwaway test file
that needs no database, so it stays fast. Before the fix, `pytest -n 8`
with a worker failing at start-up ended "no tests ran" with exit 0.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="bash scripts")


# The inner runs load only what they need (xdist and tests/pytest_env.py, via
# the project's addopts): importing Django, schemathesis and hypothesis in
# each would cost seconds for a test file that uses none of them.
FAST = ["-p", "xdist.plugin", "-W", "ignore::pytest.PytestConfigWarning"]


def _env() -> dict:
    # The outer run's per-worker settings must not leak into the inner run.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "TASKHUB_PYTEST"))}
    for name in (
        "TESTING",
        "DB_POOL",
        "REDIS_URL",
        "DATABASE_URL",
        "CACHE_REDIS_URL",
        "DJANGO_SETTINGS_MODULE",
    ):
        env.pop(name, None)
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return env


@pytest.fixture
def sample(tmp_path):
    """A directory with one passing test (and a conftest that can break one xdist worker)."""
    (tmp_path / "test_sample.py").write_text("def test_passes():\n    assert True\n")
    (tmp_path / "conftest.py").write_text(
        textwrap.dedent(
            """
            import os
            if os.environ.get("BREAK_WORKER") and os.environ.get("PYTEST_XDIST_WORKER") == os.environ["BREAK_WORKER"]:
                raise RuntimeError("this worker is broken on purpose")
            """
        )
    )
    return tmp_path


def ops_test(*args: str, extra_env: dict | None = None) -> subprocess.CompletedProcess:
    env = {**_env(), **(extra_env or {})}
    return subprocess.run(
        [
            str(ROOT / "ops" / "test"),
            "--rootdir",
            str(ROOT),
            "-c",
            str(ROOT / "pyproject.toml"),
            *FAST,
            *args,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_real_run_is_green(sample):
    r = ops_test(str(sample), "-q")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "1 passed" in r.stdout


def test_nothing_selected_fails(sample):
    r = ops_test(str(sample), "-q", "-k", "nothing_matches_this")
    assert r.returncode != 0, r.stdout[-2000:]


def test_too_many_xdist_workers_is_refused_before_starting(sample):
    r = ops_test(str(sample), "-q", "-n", "8")
    assert r.returncode != 0, r.stdout[-2000:]
    assert "at most 7 xdist workers" in r.stdout + r.stderr


def test_a_worker_that_breaks_at_start_fails_the_run(sample):
    """The finding itself: one xdist worker dies while loading (before: the others ran
    the test and the run was green, or nothing ran and it was still exit 0)."""
    r = ops_test(str(sample), "-q", "-n", "2", extra_env={"BREAK_WORKER": "gw1"})
    assert r.returncode != 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "workers crashed" in r.stdout + r.stderr


def test_a_run_without_the_summary_plugin_fails(sample):
    """If tests/pytest_env.py is not loaded (addopts overridden), ops/test cannot prove a run."""
    r = ops_test(str(sample), "-q", "-o", "addopts=-p no:cacheprovider")
    assert r.returncode != 0, r.stdout[-2000:]
    assert "no run summary" in r.stderr


def test_the_summary_counts_executed_tests(sample, tmp_path):
    report = tmp_path / "report.json"
    env = {**_env(), "TASKHUB_PYTEST_REPORT": str(report)}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--rootdir",
            str(ROOT),
            "-c",
            str(ROOT / "pyproject.toml"),
            *FAST,
            str(sample),
            "-q",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout[-2000:]
    run = json.loads(report.read_text())
    assert run["executed"] == 1 and run["exitstatus"] == 0 and not run["crashed_workers"]
