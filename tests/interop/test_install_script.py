"""``tests/interop/install.sh`` installs only what is missing and upgrades nothing.

It runs here against stand-ins for apt-get, dpkg-query, sudo and the programs
it looks for (a ``PATH`` of stubs that log how they were called), so the test
needs neither root nor the network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import REPO

SCRIPT = REPO / "tests" / "interop" / "install.sh"
PROGRAMS = ("curl", "openssl", "nginx", "mosquitto", "mosquitto_pub", "mosquitto_sub",
            "redis-server", "redis-cli", "socat", "ab", "python3", "chromium")
APT_GET = """#!/bin/sh
echo "apt-get $*" >> "$CALLS"
case "$*" in
  *--simulate*) echo "Inst libssl3 [3.0.11-1~deb12u1] (3.0.13-1~deb12u1 Debian:12 [amd64])"
                echo "Inst socat (1.7.4.4-2 Debian:12 [amd64])" ;;
esac
"""


def stub(directory: Path, name: str, body: str = "#!/bin/sh\nexit 0\n") -> None:
    path = directory / name
    path.write_text(body)
    path.chmod(0o755)


def run_script(tmp_path: Path, *, absent: tuple[str, ...]) -> tuple[str, list[str]]:
    """install.sh with every program of ``PROGRAMS`` but ``absent`` on the PATH;
    its output and the apt-get calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in PROGRAMS:
        if name not in absent:
            stub(bin_dir, name)
    stub(bin_dir, "apt-get", APT_GET)
    stub(bin_dir, "dpkg-query", "#!/bin/sh\nprintf installed\n")
    stub(bin_dir, "sudo", '#!/bin/sh\n[ "$1" = -n ] && shift\nexec "$@"\n')
    for tool in ("sed", "env"):
        found = shutil.which(tool)
        assert found is not None
        os.symlink(found, bin_dir / tool)
    calls = tmp_path / "calls"
    result = subprocess.run(["/bin/bash", str(SCRIPT)], capture_output=True, text=True,
                            timeout=30, check=False,
                            env={"PATH": str(bin_dir), "CALLS": str(calls)})
    assert result.returncode == 0, result.stderr
    return result.stdout, calls.read_text().splitlines() if calls.exists() else []


def test_nothing_missing_nothing_done(tmp_path):
    assert run_script(tmp_path, absent=()) == ("", [])


@pytest.mark.parametrize(("absent", "wanted"), [(("socat",), "socat"),
                                                (("socat", "redis-cli"), "redis-tools socat")])
def test_only_the_missing_packages_are_installed_and_nothing_upgraded(tmp_path, absent,
                                                                      wanted):
    out, calls = run_script(tmp_path, absent=absent)
    options = "-y -q --no-upgrade --no-install-recommends"
    assert calls == ["apt-get update -q",
                     f"apt-get --simulate install {options} {wanted}",
                     f"apt-get install {options} {wanted}"]
    # curl and openssl are there already: never named, never upgraded by name.
    assert f"install.sh: installing {wanted}\n" in out
    assert "need newer versions of installed ones: libssl3 (3.0.11-1~deb12u1)" in out
