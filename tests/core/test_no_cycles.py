"""No import cycles in conformance/: every module can be read, and imported, on its own.

The graph is built from the source (ast), with function-local imports and relative imports,
but without ``if TYPE_CHECKING:`` blocks (never run). ``from pkg import name`` is an edge to
the submodule ``pkg.name`` when there is one, else to ``pkg`` itself; importing a submodule
is not counted as importing its parent package's ``__init__``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "conformance"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imported(tree: ast.Module, module: str, is_package: bool) -> list[tuple[str, list[str]]]:
    """(imported module, names) for every import that runs, TYPE_CHECKING blocks excluded."""
    found: list[tuple[str, list[str]]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((target, [alias.name for alias in node.names]))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph() -> dict[str, set[str]]:
    """Module → the conformance modules it imports."""
    files = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for target, names in _imported(tree, name, path.name == "__init__.py"):
            for imported in names or [""]:
                candidate = f"{target}.{imported}" if imported else target
                if candidate in files:
                    graph[name].add(candidate)
                elif target in files:
                    graph[name].add(target)
        graph[name].discard(name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One concrete cycle per strongly connected component of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    counter = [0]

    def strong(node: str) -> None:  # Tarjan, recursive: the graph is small
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                strong(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component: set[str] = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            strong(node)
    found = []
    for component in components:
        start = min(component)
        # breadth-first from start back to start inside the component: a shortest cycle
        paths = {start: [start]}
        queue = [start]
        cycle: list[str] | None = None
        while queue and cycle is None:
            current = queue.pop(0)
            for succ in sorted(graph[current] & component):
                if succ == start:
                    cycle = paths[current] + [start]
                    break
                if succ not in paths:
                    paths[succ] = paths[current] + [succ]
                    queue.append(succ)
        assert cycle is not None
        found.append(cycle)
    return sorted(found)


def _describe(found: list[list[str]]) -> str:
    return "import cycles:\n" + "\n".join("  " + " -> ".join(c) for c in found)


def test_the_graph_sees_function_local_and_relative_imports(tmp_path: Path) -> None:
    source = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "from . import ids\n"
        "if TYPE_CHECKING:\n    from conformance.simulator.runtime import Core\n"
        "def f():\n    from .control import Control\n")
    found = _imported(source, "conformance.simulator.app", False)
    assert ("conformance.simulator", ["ids"]) in found
    assert ("conformance.simulator.control", ["Control"]) in found
    assert not any(target.endswith("runtime") for target, _ in found)
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]


def test_no_import_cycles_in_the_simulator() -> None:
    graph = import_graph()
    simulator = {m for m in graph if m.startswith("conformance.simulator")}
    found = cycles({m: graph[m] & simulator for m in simulator})
    assert not found, _describe(found)


def test_no_import_cycles() -> None:
    found = cycles(import_graph())
    if found:
        pytest.fail(_describe(found), pytrace=False)
