"""``ssl-proxy doctor`` against the emulator: every check, and the failures a user meets."""

from __future__ import annotations

import io
import subprocess

import pytest
import trio

from modem.core.channel_plan import ChannelMode
from modem.emulator import Emulator, EmulatorConfig
from proxy.config.model import Endpoint
from proxy.doctor import DoctorOptions, main, run_doctor
from tests.helpers import REPO, TlsServer
from tests.proxy_helpers import proxy_command

CHECKS = ["port", "at", "identity", "urcs", "channels", "sim", "network", "signal", "clock", "pdp",
          "files", "round-trip", "throughput", "tls", "transparent"]


def outcomes(text: str) -> dict[str, str]:
    """check name -> PASS/FAIL/SKIP, from the printed lines."""
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0] in ("PASS", "FAIL", "SKIP"):
            out[parts[1]] = parts[0]
    return out


def line_of(text: str, check: str) -> str:
    return next(line for line in text.splitlines() if line.split()[1:2] == [check])


async def test_doctor_emulate_with_the_proxy_config_passes_every_check(server_cert, ca_file,
                                                                     tmp_path, nursery):
    echo = await nursery.start(TlsServer(server_cert, "echo").serve)
    transcript = tmp_path / "doctor.txt"
    config = tmp_path / "proxy.toml"  # the proxy's own file: --host is its first map
    config.write_text(f'emulate = true\nresolve = {{ "echo.test" = "127.0.0.1" }}\n'
                      f'cacert = "{ca_file}"\n[[map]]\nlisten = 9000\n'
                      f'connect = "echo.test:{echo.port}"\n')
    result = await trio.run_process(
        proxy_command("doctor", "--emulate", "--config", str(config),
                      "--apn", "internet", "--apn-user", "u",
                      "--apn-password", "s3cr3t-pw", "--transcript", str(transcript)),
        cwd=REPO, capture_stdout=True, capture_stderr=True, check=False,
        stdin=subprocess.DEVNULL)
    out = result.stdout.decode()
    assert result.returncode == 0, out + result.stderr.decode()
    assert outcomes(out) == {**dict.fromkeys(CHECKS, "PASS"), "transparent": "SKIP"}
    assert "server certificate verified" in line_of(out, "tls")
    assert "--channels single" in line_of(out, "transparent")
    assert echo.connections, "the TLS open reached the server"
    text = transcript.read_text()
    assert "> AT+QSSLOPEN=" in text and "== PASS  tls" in text  # the AT exchange is in it
    assert "AT+QICSGP=" in text and "s3cr3t-pw" not in text  # the password is not
    assert b"Traceback" not in result.stderr


def test_no_sim_is_named_with_its_advice(tmp_path):
    out = io.StringIO()
    status = main(["--emulate", "--emulate-sim", "absent", "--host", "h.test:443",
                   "--baud", "3000000", "--transcript", str(tmp_path / "t.txt")], out)
    text = out.getvalue()
    assert status == 1
    assert line_of(text, "sim") == ("FAIL  sim           SIM not usable (SIM not inserted): "
                                    "insert a SIM card (power the module off first)")
    found = outcomes(text)
    assert (found["network"], found["pdp"], found["tls"]) == ("SKIP", "SKIP", "SKIP")
    assert found["identity"] == found["files"] == "PASS"  # the rest still checked
    assert "< CmeError(code=10" in (tmp_path / "t.txt").read_text()  # the module said so


def test_no_registration_is_named_with_its_advice(tmp_path):
    out = io.StringIO()
    status = main(["--emulate", "--emulate-registration", "2", "--wait", "0.5", "--baud", "3000000",
                   "--transcript", str(tmp_path / "t.txt")], out)
    text = out.getvalue()
    assert status == 1
    network = line_of(text, "network")
    assert network.startswith("FAIL  network       not registered on the network "
                              "(not registered, searching)")
    assert network.endswith(": check the antenna, the SIM's subscription and the coverage")
    assert outcomes(text)["pdp"] == "SKIP" and outcomes(text)["sim"] == "PASS"
    assert "some checks failed" in text


def test_a_wrong_flag_is_one_line_and_status_2(capsys):
    assert main(["--device", "/dev/ttyUSB2", "--emulate"]) == 2
    assert capsys.readouterr().err.strip() == (
        "ssl-proxy: error: doctor: --device and --emulate exclude each other; drop one")


def test_the_doctor_names_the_module_as_the_proxy_does(tmp_path):
    """``--modem`` picks a ``[[modem]]`` of the proxy's file; the report and the
    transcript's driver lines name it as the status page, metrics and logs do."""
    config = tmp_path / "proxy.toml"
    config.write_text('emulate = true\n[[modem]]\nname = "north"\n'
                      '[[modem]]\nname = "south"\nbaud = 921600\n')
    out, transcript = io.StringIO(), tmp_path / "t.txt"
    assert main(["--config", str(config), "--modem", "south", "--transcript", str(transcript)],
                out) == 0
    assert line_of(out.getvalue(), "port").endswith(" (south) opened at 921600 baud")
    driver_lines = [line for line in transcript.read_text().splitlines() if " modem.at: " in line]
    assert driver_lines and all(line.endswith(" modem=south") for line in driver_lines)
    out = io.StringIO()
    assert main(["--config", str(config), "--transcript", str(transcript)], out) == 0
    assert " (north) opened at " in line_of(out.getvalue(), "port")  # the first by default
    assert main(["--emulate", "--transcript", str(transcript)], out := io.StringIO()) == 0
    assert " (modem1) opened at " in line_of(out.getvalue(), "port")


def test_modem_must_name_a_table(tmp_path, capsys):
    config = tmp_path / "proxy.toml"
    config.write_text('emulate = true\n[[modem]]\nname = "north"\n'
                      '[[map]]\nlisten = 9000\nconnect = "a.example:443"\n')
    assert main(["--config", str(config), "--modem", "east"]) == 2
    assert capsys.readouterr().err.strip() == (
        "ssl-proxy: error: doctor: --modem east: no such [[modem]]; the modules are north")
def test_the_sim_pin_is_entered_under_the_proxys_rule_and_kept_out_of_the_transcript(
        tmp_path, monkeypatch):
    monkeypatch.setenv("SSL_PROXY_SIM_PIN", "8642")
    out = io.StringIO()
    status = main(["--emulate", "--emulate-sim-pin", "8642", "--baud", "3000000",
                   "--transcript", str(tmp_path / "t.txt")], out)
    assert status == 0, out.getvalue()
    assert line_of(out.getvalue(), "sim") == (
        "PASS  sim           SIM unlocked with its PIN (AT+CPIN?: READY; PIN tries left 3 of 3, "
        "PUK tries 10)")
    # The options line names the emulated SIM's test PIN; the AT traffic never shows it.
    traffic = (tmp_path / "t.txt").read_text().split("\n", 2)[2]
    assert 'AT+CPIN="****"' in traffic and "8642" not in traffic


def test_a_counted_wrong_try_stops_the_doctor_too(tmp_path, monkeypatch):
    pin_file = tmp_path / "pin"
    pin_file.write_text("8642\n")
    pin_file.chmod(0o600)
    out = io.StringIO()
    status = main(["--emulate", "--emulate-sim-pin", "8642", "--emulate-sim-pin-tries", "1",
                   "--sim-pin-file", str(pin_file), "--baud", "3000000",
                   "--transcript", str(tmp_path / "t.txt")], out)
    assert status == 1
    assert line_of(out.getvalue(), "sim").startswith(
        "FAIL  sim           the SIM wants its PIN and 1 of 3 tries are left")
    assert "> AT+CPIN=" not in (tmp_path / "t.txt").read_text()  # nothing was entered


@pytest.mark.long  # 30 unanswered ATs (9 s) before the speeds are tried, twice
async def test_the_doctor_names_the_speed_a_uart_module_answers_at_and_auto_uses_it(tmp_path):
    async with Emulator.running(EmulatorConfig(baud=921600, uart=True)) as emulator:
        lines = {}
        for baud in ("115200", "auto"):
            result = await trio.run_process(
                proxy_command("doctor", "--device", emulator.device, "--baud", baud,
                              "--transcript", str(tmp_path / f"{baud}.txt")),
                cwd=REPO, capture_stdout=True, capture_stderr=True, check=False,
                stdin=subprocess.DEVNULL)
            lines[baud] = line_of(result.stdout.decode(), "at")
    assert lines["115200"] == (
        "FAIL  at            the module does not answer at 115200 baud but does at 921600 "
        "baud (the speed its AT+IPR keeps): give --baud 921600 (or --baud auto to find it at "
        "every start)")
    assert lines["auto"] == ("PASS  at            the module answers at 921600 baud (found: "
                             "--baud auto) (echo off, numeric errors)")


async def test_the_doctor_lends_a_dlc_for_transparent_mode_and_takes_it_back(
        server_cert, ca_file, tmp_path, nursery):
    """With --channels cmux and --rtscts, the socket the tls check opened goes to the
    spare DLC in transparent mode and back (+++), as a bulk upload would: what
    the emulator cannot vouch for a real module, tried on the user's."""
    echo = await nursery.start(TlsServer(server_cert, "echo").serve)
    transcript = tmp_path / "doctor.txt"
    result = await trio.run_process(
        proxy_command("doctor", "--emulate", "--channels", "cmux", "--rtscts",
                      "--resolve", "echo.test=127.0.0.1", "--cacert", str(ca_file),
                      "--host", f"echo.test:{echo.port}", "--transcript", str(transcript)),
        cwd=REPO, capture_stdout=True, capture_stderr=True, check=False,
        stdin=subprocess.DEVNULL)
    out = result.stdout.decode()
    assert result.returncode == 0, out + result.stderr.decode()
    assert outcomes(out)["tls"] == outcomes(out)["transparent"] == "PASS"
    assert line_of(out, "tls").endswith("(on cmux)")
    assert "moved to DLC 4 in transparent mode and back" in line_of(out, "transparent")
    text = transcript.read_text()
    assert "AT+QISWTMD=" in text and "== PASS  transparent" in text


@pytest.mark.parametrize(("firmware", "outcome", "found"), [
    ({"transparent_refused": ("dlc",)}, "PASS", "refused transparent mode on DLC 4"),
    ({"escape_no_carrier": True}, "FAIL", 'transparent = "never"'),
])
async def test_a_module_that_refuses_or_does_not_come_back_is_named(
        server_cert, ca_file, tmp_path, nursery, firmware, outcome, found):
    """Refused: the proxy keeps uploads on AT+QSSLSEND (a pass); an escape answered
    NO CARRIER with the socket still open: the end is unproven, a failure that
    says what to set instead."""
    echo = await nursery.start(TlsServer(server_cert, "echo").serve)
    options = DoctorOptions(
        emulate=True, channels=ChannelMode.CMUX, rtscts=True, cacert=ca_file,
        host=Endpoint("echo.test", echo.port),
        emulator={"resolve": {"echo.test": "127.0.0.1"}, "real_dns": False, **firmware})
    report = await run_doctor(options, io.StringIO(), tmp_path / "t.txt")
    result = next(r for r in report.results if r.name == "transparent")
    assert result.outcome == outcome and found in result.line()
