"""The tooling tells the truth: ruff passes with no blanket ignores, and
pytest turns warnings into errors (narrow, commented ignores only)."""

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_ruff_has_no_blanket_ignores_and_passes():
    lint = _pyproject()["tool"]["ruff"].get("lint", {})
    assert not lint.get("ignore"), f"blanket ruff ignores: {lint.get('ignore')} (use a per-line noqa)"
    assert not lint.get("per-file-ignores"), "per-file ignores hide whole files"
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run([str(ruff), "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_warnings_are_errors():
    filters = _pyproject()["tool"]["pytest"]["ini_options"]["filterwarnings"]
    assert filters[0] == "error", "warnings must fail the tests"
    for entry in filters[1:]:
        action, _, rest = entry.partition("::")
        assert action == "ignore", entry
        category, _, module = rest.partition(":")
        assert category and module, f"an ignore must name a category and a module: {entry}"
