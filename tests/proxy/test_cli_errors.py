"""``ssl-proxy`` mistakes: exit status 2 (usage/config) or 1 (runtime), one line on stderr."""

from __future__ import annotations

import re
import socket

import pytest

from modem import __version__
from modem.core.errors import ModuleLost, ModuleTimeout, render
from proxy.cli import main
from tests.proxy_helpers import run_cli


def run_main(capsys, *argv: str) -> tuple[int, str]:
    status = main(list(argv))
    err = capsys.readouterr().err
    return status, err


def assert_one_error_line(err: str, *words: str) -> None:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("ssl-proxy: error: ")
    for word in words:
        assert word in lines[0]
    assert "Traceback" not in err


@pytest.mark.parametrize(("argv", "words"), [
    (["--map", "9000"], ["--map '9000'", "[BIND:]LPORT=HOST:RPORT"]),
    ([], ["give at least one --map"]),
    (["--map", "9000=h:443", "--frobnicate"], ["unrecognized arguments: --frobnicate"]),
    (["--map", "9000=h:443", "--tls-version", "1.3"],
     ["--tls-version: '1.3' is not one of 1.0, 1.1, 1.2, all"]),
    (["--map", "9000=h:443", "--ciphers", "0xC02F,0x9999"], ["--ciphers", "0x9999"]),
    (["--map", "9000=h:443", "--negotiate-timeout", "5"], ["--negotiate-timeout", "10-300"]),
    (["--map", "9000=h:443", "--tls-version", "1.3"], ["--tls-version"]),
    (["--map", "9000=h:443", "--cacert", "/nonexistent/ca.pem"],
     ["--cacert /nonexistent/ca.pem", "cannot read it"]),
    (["--config", "/nonexistent/proxy.toml"], ["cannot read config file"]),
])
def test_usage_mistakes_exit_2(capsys, argv, words):
    status, err = run_main(capsys, *argv)
    assert status == 2
    assert_one_error_line(err, *words)


def test_key_that_does_not_match(capsys, tmp_path):
    import trustme

    ca = trustme.CA()
    a, b = ca.issue_cert("a@example"), ca.issue_cert("b@example")
    a.cert_chain_pems[0].write_to_path(tmp_path / "a.pem")
    b.private_key_pem.write_to_path(tmp_path / "b.key")
    ca.cert_pem.write_to_path(tmp_path / "ca.pem")
    status, err = run_main(capsys, "--map", "9000=h:443", "--cacert", str(tmp_path / "ca.pem"),
                           "--clientcert", str(tmp_path / "a.pem"),
                           "--clientkey", str(tmp_path / "b.key"))
    assert status == 2
    assert_one_error_line(err, "b.key", "does not belong to --clientcert")


def test_port_in_use_exits_1(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        status, err = run_main(capsys, "--map", f"{port}=h:443", "--insecure",
                               "--device", "/dev/null")
    assert status == 1
    assert err.splitlines() == [
        f"ssl-proxy: error: cannot listen on 127.0.0.1:{port} for --map 127.0.0.1:{port} "
        "-> h:443: another program uses that port; choose another one or stop it"]


def test_missing_device_exits_1(capsys, tmp_path):
    status, err = run_main(capsys, "--map", "0=h:443",
                           "--device", str(tmp_path / "ttyUSB9"), "--apn-password", "x",
                           "--apn", "internet")
    assert status == 1
    assert_one_error_line(err, "no such device", "ttyUSB9")


def test_not_a_serial_device_exits_1(capsys, tmp_path):
    plain = tmp_path / "plain-file"
    plain.write_text("")
    status, err = run_main(capsys, "--map", "0=h:443", "--device", str(plain))
    assert status == 1
    assert_one_error_line(err, str(plain))


def test_help_and_version_return_0(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "--map [BIND:]LPORT=HOST:RPORT" in out and "exit status" in out
    assert "--at-console unix:PATH|[BIND:]PORT" in out  # the recommended form first
    assert "  ssl-proxy doctor [options]   check a module" in out.split("options:")[0]
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"ssl-proxy {__version__}"


def test_subprocess_help_and_version():
    result = run_cli("--help")
    assert result.returncode == 0 and result.stdout.startswith("usage: ssl-proxy")
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"ssl-proxy {__version__}"


def test_subprocess_mistake():
    result = run_cli("--map", "9000=api.example.com")
    assert result.returncode == 2
    assert result.stdout == ""
    assert_one_error_line(result.stderr, "lacks HOST:PORT")


def test_apn_rejected_exits_1_without_showing_the_password(capsys):
    status, err = run_main(capsys, "--emulate", "--apn", "bad", "--apn-user", "me",
                           "--apn-password", "hunter2secret", "--map", "0=h.test:443")
    assert status == 1
    assert_one_error_line(err)
    # The bring-up's own sentence; in parentheses the module's error (561, manual Table 3).
    assert re.fullmatch(r"ssl-proxy: error: could not activate PDP context 1 with APN 'bad' "
                        r"\(AT\+QIACT=1: .*\b561\b.*\): "
                        r"check --apn, --apn-user and --apn-password\n", err), err
    assert "hunter2secret" not in err



def test_traced_start_up_never_shows_the_password(capsys):
    status, err = run_main(capsys, "--emulate", "--apn", "bad", "--apn-password", "hunter2secret",
                           "--map", "0=h.test:443", "-vv", "--trace-at")
    assert status == 1
    assert "AT+QICSGP" in err  # the trace is there
    assert "hunter2secret" not in err


def test_a_module_error_reads_well():
    """An error reads once: no "module: " before "module does not answer AT"."""
    assert render(ModuleLost("module does not answer AT (30 tries): check the device path")
                  ) == "module does not answer AT (30 tries): check the device path"
    assert render(ModuleTimeout("AT+CSQ: no answer within 1 s")
                  ) == "AT+CSQ: no answer within 1 s"
