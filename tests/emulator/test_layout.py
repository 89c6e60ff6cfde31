"""The emulator's own layout: no import circles, and no borrowed manual.

Every module under ``modem/emulator`` is parsed (imports under
``if TYPE_CHECKING:`` count too) and the import graph must be acyclic.  The
emulator keeps its own transcription of the manual's limits and formulas
(``modem/emulator/manual.py``), so it must not import the driver's
``modem.commands`` / ``modem.limits`` / ``modem.errors``: a wrong number on
the driver's side would otherwise pass every test.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "modem.emulator"
ROOT = Path(__file__).resolve().parents[2] / "modem" / "emulator"


def _module_name(path: Path) -> str:
    return f"{PACKAGE}.{path.stem}" if path.stem != "__init__" else PACKAGE


def _imports(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (any nesting level)."""
    tree = ast.parse(path.read_text(), str(path))
    here = _module_name(path)
    package = here if path.stem == "__init__" else here.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                stem = f"{base}.{node.module}" if node.module else base
            else:
                stem = node.module or ""
            found.add(stem)
            found.update(f"{stem}.{alias.name}" for alias in node.names)
    return found


def import_graph() -> dict[str, set[str]]:
    """Emulator module -> the emulator modules it imports (the package's ``__init__`` aside)."""
    modules = {_module_name(p): p for p in ROOT.glob("*.py")}
    return {
        name: {m for m in _imports(path) if m in modules and m not in (name, PACKAGE)}
        for name, path in modules.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_sees_a_circle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles_in_the_emulator() -> None:
    graph = import_graph()
    assert len(graph) > 10
    assert cycles(graph) == []


def test_the_emulator_does_not_borrow_the_drivers_manual() -> None:
    borrowed = {
        path.name: sorted(m for m in _imports(path)
                          if m.startswith("modem.") and not m.startswith(PACKAGE))
        for path in ROOT.glob("*.py")
    }
    assert {name: mods for name, mods in borrowed.items() if mods} == {}


def test_no_emulator_file_is_over_500_lines() -> None:
    lengths = {p.name: len(p.read_text().splitlines()) for p in ROOT.glob("*.py")}
    assert {name: n for name, n in lengths.items() if n > 500} == {}
