"""What the integration's modules import: only what every supported Home Assistant provides."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

INTEGRATION = Path(__file__).parent.parent / "custom_components" / "smartwats"


def imported_modules(path: Path) -> set[str]:
    """Return the top-level names of the modules a file imports (type-only imports included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.partition(".")[0])
    return names


@pytest.mark.parametrize(
    "path", sorted(INTEGRATION.rglob("*.py")), ids=lambda path: str(path.relative_to(INTEGRATION))
)
def test_no_module_imports_probatio(path: Path) -> None:
    """Validation goes through `voluptuous`: before 2026.10 Home Assistant has no probatio."""
    assert "probatio" not in imported_modules(path)


def test_the_check_sees_a_probatio_import(tmp_path: Path) -> None:
    """The check above fails on a module that imports probatio, either way."""
    for source in ("import probatio\n", "from probatio import Schema\n"):
        module = tmp_path / "module.py"
        module.write_text(source, encoding="utf-8")
        assert "probatio" in imported_modules(module)
