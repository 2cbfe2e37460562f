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


def _integration_imports(path: Path) -> set[str]:
    """Return the integration's own modules a file imports (relative imports, type-only too)."""
    # The package a module is in (for __init__, the package itself).
    package = path.relative_to(INTEGRATION.parent.parent).with_suffix("").parts[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - node.level + 1]
            target = [*base, *(node.module.split(".") if node.module else [])]
            names = [alias.name for alias in node.names]
            for name in names if node.module is None else [None]:
                found.add(".".join(target if name is None else [*target, name]))
    return {name for name in found if _module_path(name) is not None}


def _module_path(name: str) -> Path | None:
    base = INTEGRATION.parent.parent.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return one import cycle of the graph, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def _module_name(path: Path) -> str:
    parts = path.relative_to(INTEGRATION.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_import_cycle() -> None:
    """No module of the integration imports, however indirectly, one that imports it back.

    Type-only imports count: a cycle there is a cycle of knowledge for the reader. The package
    ``__init__`` modules are left out (Python imports a package before its modules).
    """
    graph = {
        _module_name(path): _integration_imports(path) - {_module_name(path)}
        for path in INTEGRATION.rglob("*.py")
        if path.name != "__init__.py"
    }
    graph = {name: {dep for dep in deps if dep in graph} for name, deps in graph.items()}
    assert _cycle(graph) is None


def test_the_cycle_check_finds_a_cycle() -> None:
    """The check above reports a cycle, also a long one, and none in a tree."""
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None
