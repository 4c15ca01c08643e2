"""The layer contract ([tool.importlinter] in pyproject.toml), run by import-linter.

provisioning > tenant_apps > shared_apps > platform_core: an upward import
anywhere (outside the listed wiring) fails the suite, and so does a tenant
app reaching for a shared app's models instead of its services/selectors.
No database, no server: import-linter reads the source.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("platform_core", "shared_apps", "tenant_apps", "provisioning")
LAYERS = "provisioning > tenant_apps > shared_apps > platform_core"  # the contracts' names
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--config", str(root / "pyproject.toml")],
        cwd=root, env=env, capture_output=True, text=True, timeout=300,
    )


def test_the_layer_contract_holds():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken." in result.stdout, result.stdout


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    """The four packages and pyproject.toml, copied so a test can add a bad import."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize(
    ("module", "bad_import", "contract"),
    [
        # framework -> app
        ("platform_core/auth.py", "from shared_apps.accounts.models import User", LAYERS),
        ("platform_core/live.py", "from tenant_apps.boards.models import Board", LAYERS),
        # shared -> tenant / provisioning
        ("shared_apps/orgs/selectors.py", "from provisioning import services", LAYERS),
        ("shared_apps/accounts/api.py", "from tenant_apps.boards import selectors", LAYERS),
        # tenant -> provisioning
        ("tenant_apps/members/api.py", "from provisioning.services import org_provision", LAYERS),
        # tenant -> a shared app's models
        ("tenant_apps/boards/api.py", "from shared_apps.orgs.models import Membership", "tenant_apps use shared_apps"),
    ],
)
def test_a_violating_import_breaks_the_contract(tree_copy: Path, module: str, bad_import: str, contract: str):
    path = tree_copy / module
    path.write_text(path.read_text() + f"\n{bad_import}  # noqa\n")
    result = lint_imports(tree_copy)
    assert result.returncode != 0, result.stdout
    assert "1 broken" in result.stdout, result.stdout
    assert contract in result.stdout.split("Broken contracts")[-1], result.stdout
