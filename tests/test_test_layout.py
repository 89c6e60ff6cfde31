"""The test tree's own layout: what tests share lives in helper modules and conftest.py
files, never in a test module.

* no module under ``tests/`` imports a test module (``test_*.py``): a helper two
  modules need goes to ``tests/helpers.py``, ``tests/proxy_helpers.py`` (what needs
  the proxy or the emulator) or, for fixtures, the nearest ``conftest.py``;
* a module imports only the ``conftest.py`` of its own directory: what other
  directories share is in the helper modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def _sources() -> list[Path]:
    return sorted(path for path in TESTS.rglob("*.py")
                  if not any(part.startswith(".") for part in path.relative_to(ROOT).parts))


def _imported(path: Path, source: str) -> set[str]:
    """Every module (or module attribute) ``source`` at ``path`` imports, dotted and
    absolute: ``from .conftest import x`` in tests/proxy gives ``tests.proxy.conftest``
    and ``tests.proxy.conftest.x``."""
    package = path.relative_to(ROOT).parent.parts
    found: set[str] = set()
    for node in ast.walk(ast.parse(source, filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = list(package[:len(package) - node.level + 1]) if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def offences(path: Path, source: str) -> list[str]:
    """What ``source`` (the text of ``path``) imports against the rules above."""
    own_conftest = ".".join([*path.relative_to(ROOT).parent.parts, "conftest"])
    out = []
    for name in sorted(_imported(path, source)):
        parts = name.split(".")
        if any(part.startswith("test_") for part in parts):
            out.append(f"{name}: a test module")
        elif "conftest" in parts and name.rpartition(".conftest")[0] + ".conftest" != own_conftest:
            out.append(f"{name}: another directory's conftest")
    return out


def test_no_module_imports_a_test_module_or_another_directorys_conftest() -> None:
    found = {str(path.relative_to(ROOT)): offences(path, path.read_text(encoding="utf-8"))
             for path in _sources()}
    assert {path: what for path, what in found.items() if what} == {}


def test_the_check_sees_each_kind_of_import() -> None:
    path = TESTS / "proxy" / "test_example.py"
    for source, offence in [
        ("from .test_end_to_end import connect", "tests.proxy.test_end_to_end: a test module"),
        ("from tests.proxy import test_recovery", "tests.proxy.test_recovery: a test module"),
        ("import tests.emulator.test_pty", "tests.emulator.test_pty: a test module"),
        ("from tests.reliability.conftest import talk",
         "tests.reliability.conftest: another directory's conftest"),
        ("from ..driver.conftest import open_socket",
         "tests.driver.conftest: another directory's conftest"),
    ]:
        assert offence in offences(path, source), source
    assert offences(path, "from .conftest import NAMES\nfrom tests.helpers import REPO") == []
