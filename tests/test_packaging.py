"""The package as a user gets it: ``python -m build`` makes a wheel and an sdist, and
each, installed into a fresh virtual environment, runs ``ssl-proxy --version`` and
the emulator demo from the installed files alone, so a file the package forgets
to ship (or a dependency it forgets to declare) fails here.

The dependencies come from the package index once (``pip download`` into a
wheelhouse); both environments install from that wheelhouse with ``--no-index``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from modem import __version__
from tests.helpers import REPO

pytestmark = pytest.mark.long

NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "*.egg-info", "__pycache__", "build",
                                    "dist", ".tox", ".*_cache", ".hypothesis")


def run(*command: str | Path, cwd: Path, timeout: float = 300) -> str:
    """``command`` to its end with no ``PYTHONPATH`` (nothing of the checkout leaks
    in); its output, or the test fails showing it."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = subprocess.run([str(part) for part in command], cwd=cwd, env=env, text=True,
                            capture_output=True, timeout=timeout, check=False,
                            stdin=subprocess.DEVNULL)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(map(str, command))}:\n{output}"
    return output


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The wheel and the sdist of a copy of the checkout, and a wheelhouse of what
    installing them needs."""
    root = tmp_path_factory.mktemp("packaging")
    source = root / "source"
    shutil.copytree(REPO, source, ignore=NOT_SOURCE)
    dist = root / "dist"
    run(sys.executable, "-m", "build", "--outdir", dist, source, cwd=root)
    (wheel,) = dist.glob("ssl_proxy-*.whl")
    (sdist,) = dist.glob("ssl_proxy-*.tar.gz")
    wheelhouse = root / "wheelhouse"
    run(sys.executable, "-m", "pip", "download", "--quiet", "--dest", wheelhouse, wheel,
        "setuptools>=77", cwd=root)  # setuptools: building the sdist in isolation
    return {"wheel": wheel, "sdist": sdist, "wheelhouse": wheelhouse, "root": root}


@pytest.mark.parametrize("artifact", ["wheel", "sdist"])
def test_the_package_installs_and_runs_the_demo(built: dict[str, Path], artifact: str,
                                                tmp_path: Path) -> None:
    if shutil.which("openssl") is None:  # the demo makes its certificates with it
        pytest.fail("the demo needs the openssl command: bash tests/interop/install.sh")
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", "--no-index", "--find-links",
        built["wheelhouse"], built[artifact], cwd=tmp_path)

    assert run(venv / "bin" / "ssl-proxy", "--version", cwd=tmp_path).strip() == \
        f"ssl-proxy {__version__}"
    where = run(python, "-c", "import importlib.metadata as m, proxy, modem.emulator; "
                "print(m.version('ssl-proxy'), proxy.__file__)", cwd=tmp_path).split()
    assert where[0] == __version__  # the metadata's version is modem.__version__
    assert Path(where[1]).is_relative_to(venv)  # the installed files, not the checkout

    # The demo as the sdist ships it, run by this environment's Python from a
    # directory that holds no source: its proxy is the installed one.
    with tarfile.open(built["sdist"]) as archive:
        # filter: from Python 3.11.4 (and backports); an older one has no such argument.
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        archive.extractall(tmp_path / "unpacked", **safe)
    (demo,) = (tmp_path / "unpacked").glob("ssl_proxy-*/examples/demo.py")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    output = run(python, demo, cwd=elsewhere, timeout=120)
    assert "SHA-256 matches" in output and output.rstrip().endswith("demo OK"), output
