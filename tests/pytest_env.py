"""Loaded as a plugin (`-p tests.pytest_env` in pyproject) before pytest-django
configures Django, so these reach the settings: test mode, no connection pool,
and a Redis database pair of this worker's own (queues, then caches).

It also makes sure a run that did not run the suite cannot look green: at
the end (in the xdist controller, or the only process) a run that executed
no test, or lost a worker, fails; with TASKHUB_PYTEST_REPORT set, a JSON
summary is written there for ops/test, which fails if it is missing.
"""

import json
import os

import pytest

# Each worker takes two of Redis's 16 databases (2..15): at most 7 workers.
MAX_WORKERS = 7

_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
_index = int(_worker.removeprefix("gw") or 0)
if _index >= MAX_WORKERS:
    # The controller refuses -n > 7 first (pytest_configure below); this is
    # the last line of defence, and xdist reports it as a crashed worker.
    raise pytest.UsageError(
        f"at most {MAX_WORKERS} xdist workers: each takes two of Redis's 16 databases"
    )
os.environ["TESTING"] = "1"
os.environ["DB_POOL"] = "0"
_base_redis = os.environ.get("REDIS_URL", "redis://127.0.0.1:25379/0").rsplit("/", 1)[0]
os.environ["REDIS_URL"] = f"{_base_redis}/{2 + 2 * _index}"
os.environ.pop("CACHE_REDIS_URL", None)


# What the run did, kept by the controller (or the only process); None in workers.
_run: dict | None = None


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config):
    """`-n auto` never asks for more workers than Redis databases allow."""
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    global _run
    if hasattr(config, "workerinput"):  # an xdist worker: the controller decides
        return
    workers = getattr(config.option, "numprocesses", None)
    if isinstance(workers, int) and workers > MAX_WORKERS:
        raise pytest.UsageError(
            f"-n {workers}: at most {MAX_WORKERS} xdist workers (each takes two of Redis's 16 databases)"
        )
    _run = {"executed": 0, "failed": 0, "crashed_workers": [], "internal_errors": 0}


def pytest_runtest_logreport(report):
    if _run is None:
        return
    if report.when == "call" or (report.when == "setup" and report.failed):
        _run["executed"] += 1
    if report.failed:
        _run["failed"] += 1


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    if _run is not None and error:
        last = str(error).strip().splitlines()[-1:] or ["crashed"]
        _run["crashed_workers"].append(f"{node.gateway.id}: {last[0]}")


def pytest_internalerror(excrepr, excinfo):
    if _run is not None:
        _run["internal_errors"] += 1


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    if _run is None:
        return
    status = session.exitstatus
    option = session.config.option
    listing = any(
        getattr(option, name, False)
        for name in ("collectonly", "showfixtures", "show_fixtures_per_test", "markers")
    )
    _run["listing_only"] = listing  # nothing is meant to run
    if listing:
        pass
    elif status == pytest.ExitCode.OK and (_run["crashed_workers"] or _run["internal_errors"]):
        status = pytest.ExitCode.INTERNAL_ERROR
    elif status == pytest.ExitCode.OK and _run["executed"] == 0:
        status = pytest.ExitCode.NO_TESTS_COLLECTED
    session.exitstatus = status
    _run["exitstatus"] = int(status)
    path = os.environ.get("TASKHUB_PYTEST_REPORT")
    if path:
        with open(path, "w") as f:
            json.dump(_run, f)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _run is None or _run.get("listing_only"):
        return
    if _run["crashed_workers"]:
        terminalreporter.write_line(
            "FAILED RUN: xdist workers crashed: " + "; ".join(_run["crashed_workers"]), red=True
        )
    if _run["executed"] == 0:
        terminalreporter.write_line("FAILED RUN: no test was executed", red=True)
