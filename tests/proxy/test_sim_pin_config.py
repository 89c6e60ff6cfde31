"""Where the proxy takes the SIM's PIN from: ``SSL_PROXY_SIM_PIN`` or
``--sim-pin-file``, read once at start; mistakes never quote the PIN."""

from __future__ import annotations

import pytest

from modem.core.sim_pin import SimPin
from proxy.cli import parse_command_line
from proxy.errors import ConfigError

MAP = ["--emulate", "--map", "9000=h.test:443"]


def test_the_pin_comes_from_the_environment_or_a_private_file(tmp_path, monkeypatch):
    monkeypatch.delenv("SSL_PROXY_SIM_PIN", raising=False)
    assert parse_command_line(MAP).sim_pin is None
    monkeypatch.setenv("SSL_PROXY_SIM_PIN", "13579")
    assert parse_command_line(MAP).sim_pin == SimPin("13579")
    monkeypatch.delenv("SSL_PROXY_SIM_PIN")
    pin_file = tmp_path / "pin"
    pin_file.write_text("24680\n")
    pin_file.chmod(0o600)
    config = parse_command_line([*MAP, "--sim-pin-file", str(pin_file)])
    assert config.sim_pin == SimPin("24680") and not config.file_warnings
    assert "24680" not in repr(config)


def test_a_pin_file_others_can_read_is_warned_about(tmp_path):
    pin_file = tmp_path / "pin"
    pin_file.write_text("24680")
    pin_file.chmod(0o644)
    (warning,) = parse_command_line([*MAP, "--sim-pin-file", str(pin_file)]).file_warnings
    assert warning == (f"SIM PIN file {pin_file} holds the PIN and is readable by its group and "
                       f"other users (mode 0644): run chmod 600 {pin_file}")


@pytest.mark.parametrize(("content", "env", "words"), [
    ("12ab5", None, "a SIM PIN is 4 to 8 digits, and this is not one"),
    ("987654321", None, "a SIM PIN is 4 to 8 digits, and this is not one"),
    ("2468", "1357", "--sim-pin-file and SSL_PROXY_SIM_PIN both give a SIM PIN: keep one"),
])
def test_a_wrong_pin_is_one_line_that_does_not_quote_it(tmp_path, monkeypatch, content, env,
                                                         words):
    if env:
        monkeypatch.setenv("SSL_PROXY_SIM_PIN", env)
    pin_file = tmp_path / "pin"
    pin_file.write_text(content)
    with pytest.raises(ConfigError) as caught:
        parse_command_line([*MAP, "--sim-pin-file", str(pin_file)])
    assert words in str(caught.value)
    assert content not in str(caught.value).replace(str(pin_file), "")


def test_a_pin_given_as_a_flag_is_never_taken(tmp_path, monkeypatch):
    """There is no --sim-pin (argparse reads it as an abbreviated --sim-pin-file)."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="--sim-pin-file 2468: No such file"):
        parse_command_line([*MAP, "--sim-pin", "2468"])
