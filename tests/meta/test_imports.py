"""The package's import structure: every module imports on its own, and no two modules import each other.

An import circle works only in the order the modules happen to be imported in (a lazy import
inside a function hides it until that function runs); each module importing alone in a fresh
interpreter shows that none of them relies on another having been imported first.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import memmapref

PACKAGE = Path(memmapref.__file__).parent
# Running it is the command itself (it exits); the command's own tests cover it.
NOT_IMPORTED = {"memmapref.__main__"}


def _name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_package(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def imports_of(module: str) -> set[str]:
    """The memmapref modules ``module`` imports, at module level or inside a function alike."""
    tree = ast.parse(MODULES[module].read_text(), filename=str(MODULES[module]))
    package = module if _is_package(module) else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            for alias in node.names:
                # ``from pkg import sub`` needs the submodule; ``from pkg import name`` needs pkg's __init__.
                sub = f"{source}.{alias.name}"
                found.add(sub if sub in MODULES else source)
    return {name for name in found if name in MODULES and name != module}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected set of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_sees_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_imports_are_resolved_to_modules() -> None:
    plugin = imports_of("memmapref.testing.plugin")
    assert {"memmapref.testing.report", "memmapref.testing.protocol", "memmapref.testing.profiles"} <= plugin
    # ``from .. import __version__`` inside a function is an import of the package.
    assert "memmapref" in plugin


def test_no_import_circle_among_memmapref_modules() -> None:
    graph = {module: imports_of(module) for module in MODULES}
    assert cycles(graph) == []


@pytest.mark.subprocess
@pytest.mark.parametrize("module", sorted(set(MODULES) - NOT_IMPORTED))
def test_each_module_imports_alone_in_a_fresh_interpreter(module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"import {module} alone failed:\n{done.stderr[-3000:]}"
