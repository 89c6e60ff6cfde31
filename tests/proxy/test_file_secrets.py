"""Secrets at rest: a config file with an APN password or a client key's path that
group or others may read is warned about (one line that says ``chmod 600 FILE``)."""

from __future__ import annotations

import os

import pytest

from proxy.cli import parse_command_line
from tests.proxy_helpers import run_cli

MAP = """
[[map]]
listen = 9000
connect = "api.example.com:443"
"""


def config_file(tmp_path, text: str, mode: int):
    path = tmp_path / "ssl-proxy.toml"
    path.write_text(text)
    os.chmod(path, mode)
    return path


@pytest.mark.parametrize(("mode", "who"), [
    (0o644, "its group and other users"), (0o640, "its group"), (0o604, "other users")])
def test_a_readable_apn_password_is_warned(tmp_path, mode, who):
    path = config_file(tmp_path, 'apn = "internet"\napn-password = "s3cret"\n' + MAP, mode)
    (warning,) = parse_command_line(["--config", str(path)]).file_warnings
    assert f"readable by {who}" in warning and "an APN password" in warning
    assert f"(mode {mode:04o})" in warning
    assert warning.endswith(f"chmod 600 {path}")
    assert "s3cret" not in warning


def test_a_client_key_named_in_a_map_is_warned(tmp_path):
    text = MAP + 'clientcert = "/etc/ssl-proxy/c.pem"\nclientkey = "/etc/ssl-proxy/c.key"\n'
    path = config_file(tmp_path, text, 0o644)
    (warning,) = parse_command_line(["--config", str(path)]).file_warnings
    assert "the path of a client key" in warning and f"chmod 600 {path}" in warning


@pytest.mark.parametrize(("text", "mode"), [
    ('apn = "internet"\napn-password = "s3cret"\n' + MAP, 0o600),  # private
    ('apn = "internet"\n' + MAP, 0o644),                            # nothing secret
    ('apn = "internet"\napn-password = ""\n' + MAP, 0o644),         # an empty password
])
def test_no_warning_when_private_or_nothing_secret(tmp_path, text, mode):
    path = config_file(tmp_path, text, mode)
    assert parse_command_line(["--config", str(path)]).file_warnings == ()


def test_the_running_proxy_logs_the_warning_once(tmp_path):
    """The real command: logged at start, before the device is even looked for."""
    path = config_file(tmp_path, 'device = "/nonexistent/ttyUSB9"\napn = "internet"\n'
                                 'apn-password = "s3cret"\ninsecure = true\n' + MAP, 0o644)
    result = run_cli("--config", str(path))
    assert result.returncode == 1  # the device does not exist
    lines = [line for line in result.stderr.splitlines() if "chmod 600" in line]
    assert len(lines) == 1 and "WARNING" in lines[0]
    assert "s3cret" not in result.stderr
