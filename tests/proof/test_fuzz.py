"""Bounded schemathesis fuzzing against a real granian server (the CI run of proof/fuzz).

proof/fuzz.py starts its own PostgreSQL cluster, Redis and granian on free
loopback ports (nothing shared with the development servers or other test
workers), seeds organizations `alpha` (alice) and `beta` (bob), and fuzzes
the root host and alpha's host as alice with bob as the peer of schemathesis'
object_level_authorization check, plus proof/fuzz_hooks.py's
cross_tenant_replay (every successful request on one of alpha's objects is
replayed by bob on beta's host). A fixed seed keeps CI reproducible; the
longer run is `proof/fuzz --long` (docs/PROOF.md).

Gating: no server error (not_a_server_error, nor an ERROR line in the
server's log), no authorization bypass (object_level_authorization,
ignored_auth, cross_tenant_replay), and zero conformance problems: every
other check gates too (status_code_conformance, negative_data_rejection,
positive_data_acceptance, ...; proof/fuzz.py's REPORTED_ONLY is empty).
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_fuzz_root_and_org_host_no_server_error_no_bypass(tmp_path):
    out = subprocess.run(
        [sys.executable, "proof/fuzz.py", "--hosts", "root,alpha", "--max-examples", "3", "--seed", "20261127",
         "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=400,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    assert lines, f"proof/fuzz.py printed no summary (exit {out.returncode}):\n{out.stderr[-4000:]}"
    summary = json.loads(lines[-1])
    print(json.dumps({k: summary[k] for k in ("operations", "operations_tested", "cases", "ola_probes",
                                               "cross_tenant_replays", "seconds")}))
    assert summary["failures"] == {}, json.dumps(summary["failures"], indent=1)
    assert summary["reported"] == {}, json.dumps(summary["reported"], indent=1)  # every check gates
    assert summary["server_error_log_lines"] == 0, f"the server logged errors: see {tmp_path}/server.log"
    for run in summary["runs"]:
        assert run["errors"] == [], run
        assert run["exit_code"] == 0, run
        assert run["operations_tested"] == run["operations_in_schema"], run
    # The checks had something to check: cases ran and the peers' replays were sent.
    assert summary["cases"] > 500
    assert summary["cross_tenant_replays"] > 20
    assert summary["ola_probes"] > 0
    assert out.returncode == 0, out.stderr[-4000:]
