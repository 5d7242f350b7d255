"""The architecture as import rules, checked on the parsed source (ast) of every module of the package.

- `dwh.layers` (the SQL kernel) imports nothing of `dwh.ops`, `dwh.pipelines`, `dwh.main`, `dwh.dashboard`, `dwh.ml`.
- `dwh.ops` (operations) knows `dwh.layers`, never `dwh.pipelines`, `dwh.main`, `dwh.dashboard` or `dwh.ml`.
- `dwh.dashboard` and `dwh.ml` read only the published file: they import neither `dwh.layers` nor `dwh.pipelines`
  nor `dwh.main` (the path of that file comes from `dwh.settings` / `dwh.ops.publish`).
- `dwh.settings` and `dwh.sources` know no layer, operation or reader (settings reads the bronze catalog).
- `dwh.duck` (how every module opens DuckDB) knows only `dwh.settings`, so every other package may use it.
- No module outside `dwh.layers` imports a private module of it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "dwh"

FORBIDDEN = {
    "dwh.layers": ("dwh.ops", "dwh.pipelines", "dwh.main", "dwh.dashboard", "dwh.ml", "dwh.demo"),
    "dwh.ops": ("dwh.pipelines", "dwh.main", "dwh.dashboard", "dwh.ml", "dwh.demo"),
    "dwh.dashboard": ("dwh.layers", "dwh.pipelines", "dwh.main", "dwh.ml"),
    "dwh.ml": ("dwh.layers", "dwh.pipelines", "dwh.main", "dwh.dashboard"),
    # settings reads the catalog of bronze tables (dwh.sources.catalog) to check the names it is given
    "dwh.settings": ("dwh.layers", "dwh.ops", "dwh.pipelines", "dwh.main", "dwh.dashboard", "dwh.ml"),
    "dwh.sources": ("dwh.layers", "dwh.ops", "dwh.pipelines", "dwh.main", "dwh.dashboard", "dwh.ml"),
    "dwh.duck": ("dwh.layers", "dwh.ops", "dwh.pipelines", "dwh.main", "dwh.dashboard", "dwh.ml", "dwh.sources"),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module the file imports, at any depth (a function-level import counts too)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def _modules() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize("owner", sorted(FORBIDDEN))
def test_forbidden_imports(owner):
    broken = sorted(
        f"{module} imports {imported}"
        for module, imports in _modules().items()
        if _within(module, owner)
        for imported in imports
        for banned in FORBIDDEN[owner]
        if _within(imported, banned)
    )
    assert not broken, "\n".join(broken)


def test_no_private_layer_module_is_imported_from_outside():
    broken = sorted(
        f"{module} imports {imported}"
        for module, imports in _modules().items()
        if not _within(module, "dwh.layers")
        for imported in imports
        if _within(imported, "dwh.layers") and any(part.startswith("_") for part in imported.split(".")[2:3])
    )
    assert not broken, "\n".join(broken)


def test_the_old_private_runner_is_gone():
    assert not (PACKAGE / "pipelines" / "_sql_runner.py").exists()
    users = sorted(m for m, imports in _modules().items() if any("_sql_runner" in i for i in imports))
    assert not users, users


def test_the_rules_see_real_imports():
    """Guards the parser: known edges are found, so an empty result above means something."""
    modules = _modules()
    assert "dwh.layers.runner" in modules["dwh.ops.runlog"]
    assert "dwh.ops.keys" in modules["dwh.pipelines.silver_transform"]
