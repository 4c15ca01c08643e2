"""One writer per fact: Membership rows are written only by shared_apps/orgs/services.py.

An AST scan of the application packages (tests, migrations, bench and proof
tools excluded) for the ways Django writes rows: `Membership.objects.create(...)`
and the other write methods on a Membership manager or queryset (a chain
starting at `Membership.objects` or `Membership._base_manager`), and `.save()`
/ `.delete()` on a name bound to a Membership (assigned from a `Membership...`
expression, annotated `Membership`, or a loop variable over a Membership
queryset; names are tracked per file, not per scope, which errs towards
flagging). Simple and honest rather than complete:
it catches the writes the code base has had, and the self-test below proves
it catches each form.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("platform_core", "shared_apps", "tenant_apps", "provisioning")
THE_WRITER = Path("shared_apps/orgs/services.py")
MODEL = "Membership"
WRITE_METHODS = {
    "create", "get_or_create", "update_or_create", "bulk_create", "bulk_update", "update", "delete",
}
INSTANCE_WRITES = {"save", "delete"}


def _chain_root(node: ast.expr) -> str | None:
    """`Membership` for `Membership.objects.filter(...).select_for_update()`-like chains."""
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id == MODEL:
                return MODEL if node.attr in ("objects", "_base_manager", "_default_manager") else None
            node = node.value
        else:
            return None


def _is_membership_expr(node: ast.expr | None) -> bool:
    if node is None:
        return False
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == MODEL:
        return True  # Membership(...)
    return _chain_root(node) == MODEL  # Membership.objects.get(...), .first(), ...


def _annotation_names_model(annotation: ast.expr | None) -> bool:
    return annotation is not None and any(
        isinstance(n, ast.Name) and n.id == MODEL for n in ast.walk(annotation)
    )


def membership_writes(source: str) -> list[tuple[int, str]]:
    """(line, code) of every Membership write found in `source`."""
    tree = ast.parse(source)
    bound: set[str] = set()  # names holding a Membership instance
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and _is_membership_expr(node.value):
            bound.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            if _annotation_names_model(node.annotation) or _is_membership_expr(node.value):
                bound.add(node.target.id)
        elif isinstance(node, ast.arg) and _annotation_names_model(node.annotation):
            bound.add(node.arg)
        elif isinstance(node, ast.For) and isinstance(node.target, ast.Name) and _is_membership_expr(node.iter):
            bound.add(node.target.id)
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        method, owner = node.func.attr, node.func.value
        if method in WRITE_METHODS and _chain_root(owner) == MODEL:
            found.append((node.lineno, ast.unparse(node)[:100]))
        elif method in INSTANCE_WRITES and isinstance(owner, ast.Name) and owner.id in bound:
            found.append((node.lineno, ast.unparse(node)[:100]))
    return found


def test_membership_is_written_only_by_the_orgs_services_module():
    offenders = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if "migrations" in rel.parts or rel == THE_WRITER:
                continue
            for line, code in membership_writes(path.read_text()):
                offenders.append(f"{rel}:{line}: {code}")
    assert offenders == [], "Membership written outside shared_apps/orgs/services.py:\n" + "\n".join(offenders)


def test_the_writer_module_is_where_the_writes_are():
    """The scan sees the real writer's writes (so an empty result above means something)."""
    codes = [code for _, code in membership_writes((ROOT / THE_WRITER).read_text())]
    assert any("Membership.objects.create(" in c for c in codes), codes
    assert any(c.startswith("target.save(") for c in codes), codes
    assert any(c.startswith("target.delete(") for c in codes), codes


def test_the_scan_catches_each_form_of_write():
    """Each write the scan is meant to catch, caught; reads left alone."""
    caught = {
        "Membership.objects.create(user=u, organization=o, role='owner')",
        "Membership.objects.bulk_create(rows)",
        "Membership.objects.filter(organization=o).update(role='member')",
        "Membership.objects.filter(user=u).delete()",
        "Membership._base_manager.get_or_create(user=u, organization=o)",
        "m = Membership.objects.get(id=1)\nm.role = 'admin'\nm.save()",
        "m = Membership(user=u, organization=o)\nm.save()",
        "def f(membership: Membership):\n    membership.delete()",
        "for m in Membership.objects.filter(user=u):\n    m.delete()",
    }
    for source in caught:
        assert membership_writes(source), source
    left_alone = [
        "Membership.objects.filter(organization=o).exists()",
        "Membership.objects.select_for_update().filter(id=1).first()",
        "task = Task.objects.get(id=1)\ntask.save()",
        "Invite.objects.filter(email=e).update(state='revoked')",
    ]
    for source in left_alone:
        assert not membership_writes(source), source
