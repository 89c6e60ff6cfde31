"""Size and typing rules the code keeps (docs/architecture.md, "The layout").

* no function or method in ``modem/`` or ``proxy/`` passes 80 lines: a longer
  one is several steps that want names;
* no ``type: ignore`` in ``proxy/``: the proxy is typed through, so mypy
  strict means what it says there.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUNCTION_LINES_MAX = 80
_IGNORE = re.compile(r"#\s*type:\s*ignore")


def _functions() -> list[tuple[str, int]]:
    """Every function in modem/ and proxy/ as ``path:line name`` and its length in lines."""
    found = []
    for package in ("modem", "proxy"):
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    assert node.end_lineno is not None
                    where = f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"
                    found.append((where, node.end_lineno - node.lineno + 1))
    return found


def test_functions_stay_short() -> None:
    long = {where: n for where, n in _functions() if n > FUNCTION_LINES_MAX}
    assert long == {}


def test_the_function_walk_sees_the_code() -> None:
    # Guards the rule above against a walk that silently finds nothing.
    names = {where.rsplit(" ", 1)[1] for where, _ in _functions()}
    assert {"build_config", "serve_connection", "receive_some"} <= names


def test_proxy_has_no_type_ignore() -> None:
    hits = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted((ROOT / "proxy").rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _IGNORE.search(line)
    ]
    assert hits == []
