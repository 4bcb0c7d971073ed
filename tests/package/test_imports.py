"""Every module of fer_engine and dashboard imports: a broken import fails the test run, not a user's page."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import dashboard
import fer_engine
from support.paths import REPO_ROOT

VIEWS_DIR = REPO_ROOT / "dashboard" / "views"


def _modules(package) -> list[str]:
    """Every module of `package` but `__main__` (it runs the CLI when imported)."""
    names = (info.name for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."))
    return sorted(name for name in names if not name.endswith(".__main__"))


@pytest.mark.parametrize("name", _modules(fer_engine) + _modules(dashboard))
def test_module_imports(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__name__ == name


def _imported_names(path: Path) -> list[tuple[str, str | None]]:
    """(module, name) for each `import module` / `from module import name` anywhere in a page script."""
    found: list[tuple[str, str | None]] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names]
    return found


@pytest.mark.parametrize("page", sorted(path.name for path in VIEWS_DIR.glob("*.py")))
def test_page_imports_resolve(page: str) -> None:
    """Page scripts run only when visited, so each name they import (at any depth) is checked here."""
    imports = _imported_names(VIEWS_DIR / page)
    assert imports, f"{page} imports nothing"
    for module_name, attribute in imports:
        module = importlib.import_module(module_name)
        if attribute is not None and not hasattr(module, attribute):
            importlib.import_module(f"{module_name}.{attribute}")  # a submodule imported by name
