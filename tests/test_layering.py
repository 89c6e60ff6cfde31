"""The layering the architecture promises (docs/architecture.md), checked on the source.

* the sans-I/O core imports neither Trio nor pyserial, at import time or later;
* ``modem`` never imports ``proxy``;
* the emulator borrows nothing from the driver: it keeps its own transcription
  of the manual (``modem/emulator/manual.py``), so a number copied wrong on
  the driver's side cannot be confirmed by the module it is tested against;
* no module imports a module that imports it back, directly or through others,
  counting imports under ``if TYPE_CHECKING:`` and inside functions.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("modem", "proxy")
CORE = "modem.core"  # the sans-I/O core: every module in this folder
TOP_LEVEL_MODULES_MAX = 15


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    return {
        _module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base.pop()
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _imports(module: str, path: Path, known: set[str]) -> set[str]:
    """Project modules that ``module`` imports anywhere in its source."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, is_package, node)
            # ``from . import events`` names a module; ``from .x import y`` a name in x.
            submodules = [f"{target}.{alias.name}" for alias in node.names]
            names = [m for m in submodules if m in known]
            if len(names) < len(submodules):
                names.append(target)
        else:
            continue
        for name in names:
            # The longest known prefix: ``modem.core.commands.ssl`` or the package itself.
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


def _graph() -> dict[str, set[str]]:
    sources = _sources()
    known = set(sources)
    graph = {name: _imports(name, path, known) for name, path in sources.items()}
    # A package's __init__ re-exporting its own submodules is how re-exports
    # work (h11 does it); those edges are left out.  A submodule that imports a
    # name from its package's __init__ still counts.
    for name, targets in graph.items():
        graph[name] = {t for t in targets if not t.startswith(name + ".")}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles() -> None:
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_modem_never_imports_proxy() -> None:
    graph = _graph()
    offenders = {
        name: sorted(t for t in targets if t.split(".")[0] == "proxy")
        for name, targets in graph.items()
        if name.split(".")[0] == "modem"
    }
    assert {name: targets for name, targets in offenders.items() if targets} == {}


def test_the_emulator_borrows_nothing_from_the_driver() -> None:
    borrowed = {
        name: sorted(t for t in targets if not t.startswith("modem.emulator"))
        for name, targets in _graph().items()
        if name.startswith("modem.emulator")
    }
    assert {name: targets for name, targets in borrowed.items() if targets} == {}


def _core_modules() -> list[str]:
    return sorted(name for name in _sources() if name == CORE or name.startswith(CORE + "."))


def test_the_core_folder_holds_the_protocol() -> None:
    # The sans-I/O set is read from the folder; this keeps that read honest.
    assert {"modem.core.protocol", "modem.core.commands", "modem.core.errors"} <= set(
        _core_modules())


def test_sans_io_core_imports_only_the_core() -> None:
    graph = _graph()
    outside = {
        name: sorted(t for t in graph[name] if not t.startswith(CORE))
        for name in _core_modules()
    }
    assert {name: targets for name, targets in outside.items() if targets} == {}


def test_sans_io_core_imports_neither_trio_nor_serial() -> None:
    # A fresh interpreter: this test process has Trio loaded already.  Every
    # module of the folder is imported, so an import made at import time
    # anywhere in the core shows.
    probe = (
        f"import sys\nfor m in {_core_modules()!r}: __import__(m)\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('trio', 'serial'))\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == ""


@pytest.mark.parametrize("package", PACKAGES)
def test_top_level_stays_small(package: str) -> None:
    # The folders show the architecture: a package's top level keeps its
    # entry points, the rest lives in sub-packages named for what they hold.
    modules = sorted(p.name for p in (ROOT / package).glob("*.py"))
    assert len(modules) <= TOP_LEVEL_MODULES_MAX, modules


def test_source_files_stay_small() -> None:
    long = {
        name: n
        for name, path in _sources().items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 500
    }
    assert long == {}
