"""Rules of the code's shape that a reader would otherwise have to check by hand."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _calls(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            yield node


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_every_on_commit_in_the_apps_is_robust():
    """ops/outbox/__init__.py states the rule: a committed row's dispatch never raises into
    the committed caller (a beat sweep sends what was lost)."""
    seen = []
    for app in ("apm", "ops"):
        for path in sorted((ROOT / app).rglob("*.py")):
            for call in _calls(path):
                func = call.func
                if isinstance(func, ast.Attribute) and func.attr == "on_commit":
                    robust = [k for k in call.keywords if k.arg == "robust"]
                    where = f"{path.relative_to(ROOT)}:{call.lineno}"
                    seen.append(where)
                    assert robust and getattr(robust[0].value, "value", None) is True, where
    assert len(seen) >= 3, seen  # the outbox and the playbook runner's two


def test_the_apm_admin_modules_import_base_never_each_other():
    package = ROOT / "apm" / "admin"
    modules = {p.stem for p in package.glob("*.py")} - {"__init__"}
    assert {"base", "baselines", "escalations"} <= modules
    for name in modules:
        imported = _imports(package / f"{name}.py")
        others = {f"apm.admin.{m}" for m in modules - {name, "base"}}
        assert not imported & others, name
        assert "apm.admin" not in imported, name  # not the package, which imports them all
    assert not (ROOT / "apm" / "admin.py").exists()
    assert not (ROOT / "apm" / "admin_escalations.py").exists()


def test_services_never_import_a_tasks_module():
    for path in [ROOT / "apm" / "services.py", ROOT / "apm" / "escalations.py"]:
        assert not {m for m in _imports(path) if m.endswith("tasks") or ".tasks." in m}, path
