"""Errors classify and explain themselves (``modem.core.errors``): each 550-574
code is one kind, each error carries its hint and counter key, and ``render``
is the one line every surface shows."""

from __future__ import annotations

import pytest

from modem.core import errors
from modem.core.errors import (
    CmeError,
    DeviceBusy,
    DeviceNotFound,
    FileTimeout,
    LocalMistake,
    ModuleBusy,
    ModuleFault,
    ModuleNotReady,
    NetworkDown,
    RemoteRefused,
    error_for_code,
    error_for_text,
    render,
)
from modem.core.module_state import ModuleState
from proxy.errors import ConfigError, PortLost

KINDS = (RemoteRefused, NetworkDown, ModuleBusy, LocalMistake, ModuleFault)


def test_every_ssl_code_is_exactly_one_kind():
    assert set(errors.SSL_ERRORS) == set(range(550, 575))
    for code in range(550, 575):
        exc = error_for_code(code)
        assert sum(isinstance(exc, kind) for kind in KINDS) == 1, code


def test_an_open_failure_reads_once_with_its_hint():
    exc = error_for_code(566, "open api.example.com:443")
    assert str(exc) == "open api.example.com:443: error 566 (Socket connection failed)"
    assert render(exc) == ("open api.example.com:443: error 566 (Socket connection failed): "
                           "check the remote port, the CA (--cacert), --tls-version/--ciphers, "
                           "and the module clock (AT+CCLK?)")
    busy = error_for_code(568)
    assert render(busy) == "error 568 (Operation busy): the module is busy: try again"
    assert render(error_for_code(558)) == "error 558 (Socket write failed)"  # no advice to add


def test_failure_keys_are_the_code_else_the_class():
    assert error_for_code(566).failure_key == "566"
    assert error_for_code(10).failure_key == "10"
    assert CmeError(None, "odd text").failure_key == "CmeError"
    assert ModuleNotReady(ModuleState.RECOVERING).failure_key == "ModuleNotReady"
    assert ConfigError("x").failure_key == "ConfigError"


def test_module_not_ready_names_its_state_and_cause_without_the_causes_hint():
    exc = ModuleNotReady(ModuleState.STARTING, DeviceNotFound("/dev/ttyUSB9"))
    assert exc.state is ModuleState.STARTING
    assert render(exc) == ("module is starting after: no such device /dev/ttyUSB9: "
                           "try again when it is back")


@pytest.mark.parametrize(("exc", "line"), [
    (DeviceBusy("/dev/ttyUSB2"), "/dev/ttyUSB2 is busy: another process holds the port "
     "(exclusive lock); stop it first (`fuser -v /dev/ttyUSB2` shows which)"),
    (PortLost("/dev/ttyUSB2", "no serial ports found"),
     "the module's AT port (last at /dev/ttyUSB2) is not there now: no serial ports found"),
    (ConfigError("--map '9000': expected [BIND:]LPORT=HOST:RPORT"),
     "--map '9000': expected [BIND:]LPORT=HOST:RPORT"),
    (ValueError(), "ValueError"),
    (KeyError("k"), "'k'"),
])
def test_render_is_one_line_for_any_exception(exc: BaseException, line: str):
    assert render(exc) == line


def test_the_file_timeout_has_its_own_class():
    assert isinstance(error_for_code(421, "AT+QFUPL"), FileTimeout)
    assert isinstance(error_for_text("time out"), FileTimeout)
    assert type(error_for_code(403)) is CmeError  # drive full: no class of its own
