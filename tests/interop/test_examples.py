"""The files in ``examples/`` do what ``examples/README.md`` says."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from proxy.config import _MAP_KEYS, _TLS_KEYS, _TOP_KEYS, build_config, load_toml

from .conftest import REPO_ROOT, require

pytestmark = pytest.mark.interop

EXAMPLES = REPO_ROOT / "examples"


def test_demo_runs_to_the_end() -> None:
    """The README's first command: openssl, an HTTPS server, curl, the emulator."""
    require("openssl")
    require("curl")
    result = subprocess.run([sys.executable, str(EXAMPLES / "demo.py")], capture_output=True,
                            timeout=90, check=False, stdin=subprocess.DEVNULL)
    output = result.stdout.decode(errors="replace") + result.stderr.decode(errors="replace")
    assert result.returncode == 0, output
    assert "SHA-256 matches" in output
    assert output.rstrip().endswith("demo OK")


def test_example_config_is_valid_and_shows_every_key() -> None:
    path = EXAMPLES / "ssl-proxy.toml"
    config = build_config({}, load_toml(path))
    assert len(config.maps) == 2
    assert config.maps[1].tls.clientcert is not None
    text = path.read_text()
    for key in [*_TOP_KEYS, *_TLS_KEYS, *_MAP_KEYS]:
        assert re.search(rf"^(# )?{re.escape(key)} = ", text, re.MULTILINE), key


def test_example_service_runs_the_proxy_with_the_config_file() -> None:
    unit = (EXAMPLES / "ssl-proxy.service").read_text()
    settings = dict(re.findall(r"^(\w+)=(.*)$", unit, re.MULTILINE))
    assert "--config /etc/ssl-proxy/ssl-proxy.toml" in settings["ExecStart"]
    assert settings["Restart"] == "on-failure"
    assert settings["SupplementaryGroups"] == "dialout"
    assert settings["User"] != "root"
    assert settings["NoNewPrivileges"] == "yes"
    assert settings["ProtectSystem"] == "strict"
