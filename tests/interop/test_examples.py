"""The files in ``examples/`` do what ``examples/README.md`` says."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from proxy.config.build import build_config, load_toml
from proxy.config.kinds import Structured
from proxy.config.schema import Place
from proxy.config.settings import SETTINGS
from tests.helpers import REPO, free_port
from tests.proxy_helpers import proxy_command

from .conftest import Proxy, require, run_client, run_server, wait_serving

pytestmark = pytest.mark.interop

EXAMPLES = REPO / "examples"
# In the [test] extra or pulled in by it, not in the runtime dependencies.
TEST_ONLY_PACKAGES = ("cryptography", "trustme", "hypothesis", "OpenSSL")


def test_demo_runs_to_the_end_with_the_runtime_dependencies_only(tmp_path: Path) -> None:
    """The README's first command: openssl, an HTTPS server, curl, the emulator.

    Its venv has only pyserial, trio and trio-util, so the test-only packages
    are made unimportable for the demo and the proxy it starts.
    """
    require("openssl")
    require("curl")
    blocked = tmp_path / "blocked"
    for name in TEST_ONLY_PACKAGES:
        (blocked / name).mkdir(parents=True)
        (blocked / name / "__init__.py").write_text(
            f"raise ImportError({name!r} + ' is not a runtime dependency of ssl-proxy "
            f"(pyproject.toml: only pyserial, trio, trio-util)')\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(blocked), env.get("PYTHONPATH")]))
    result = subprocess.run([sys.executable, str(EXAMPLES / "demo.py")], capture_output=True,
                            timeout=90, check=False, stdin=subprocess.DEVNULL, env=env)
    output = result.stdout.decode(errors="replace") + result.stderr.decode(errors="replace")
    assert result.returncode == 0, output
    assert "SHA-256 matches" in output
    assert output.rstrip().endswith("demo OK")
    trace = output.split("What went over the", 1)[1].split("== What happened", 1)[0]
    assert "> AT+QSSLOPEN=" in trace and "modem=" not in trace
    happened = " ".join(output.split("== What happened", 1)[1].split())
    # Push mode is the default: the trace shows push frames and the text says so.
    assert "SslPushData" in trace and "pushed them unasked" in happened
    assert "AT+QSSLRECV" not in happened


def readme_blocks(after: str) -> list[list[str]]:
    """The README's indented command blocks after the paragraph that starts with ``after``."""
    text = (REPO / "README.md").read_text()
    blocks: list[list[str]] = []
    for block in re.split(r"\n\n+", text[text.index(after):].split("\n## ", 1)[0]):
        lines = block.splitlines()
        if lines and all(line.startswith("    ") for line in lines):
            blocks.append([line[4:] for line in lines])
    return blocks


def test_the_readmes_commands_to_run_it_by_hand(tmp_path: Path) -> None:
    """The README's next step after the demo, as a user types it (other free ports):
    a server of one's own, the proxy on the emulator, then curl through it."""
    require("openssl")
    require("curl")
    (make_cert, server, proxy), clients = readme_blocks("Then run it by hand")
    ports = {"8443": free_port(), "9000": free_port(), "8080": free_port()}

    def local(line: str) -> str:
        return re.sub(r"\b(8443|9000|8080)\b", lambda m: str(ports[m[1]]), line)

    subprocess.run(shlex.split(make_cert), cwd=tmp_path, check=True, capture_output=True,
                   timeout=60)
    server_argv = shlex.split(local(server.removesuffix("&")))
    with run_server(server_argv, ports["8443"], tmp_path / "server.log", cwd=tmp_path):
        program, *flags = shlex.split(local(proxy))
        assert program == ".venv/bin/ssl-proxy"
        log = tmp_path / "proxy.log"
        with log.open("wb") as out:
            process = subprocess.Popen(proxy_command(*flags), cwd=tmp_path, stdout=out,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            wait_serving(Proxy(process, ports["8080"], log))
            page, status, metrics = (run_client(["bash", "-c", local(line)]).stdout.decode()
                                     for line in clients)
        finally:
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=30) == 0
    assert "s_server -accept" in page  # the server's own page came back
    assert json.loads(status)["service"]["state"] == "serving"
    assert re.search(r'ssl_proxy_bytes_total\{direction="down",.*\} [1-9]', metrics)
    assert "> AT+QSSLOPEN=" in log.read_text()  # --trace-at shows the AT traffic


def test_the_demos_trace_excerpt_shows_one_connection_only() -> None:
    spec = importlib.util.spec_from_file_location("demo", EXAMPLES / "demo.py")
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    log = "\n".join(f"2026-05-01 12:00:00,000 {line}" for line in [
        "INFO proxy.service: accepted conn=1 listen=127.0.0.1:9000",
        'DEBUG modem.at: > AT+QSSLOPEN=1,0,3,"api.example.com",443,0',
        "DEBUG modem.at: < Ok()",
        "DEBUG modem.at: < SslOpened(client_id=3, err=0)",
        "INFO proxy.connection: opened modem=modem1 conn=1 id=3 remote=api.example.com:443",
        "DEBUG modem.at: > AT+QSSLSEND=3,75 modem=modem1",
        "DEBUG modem.at: < Prompt()",
        "DEBUG modem.at: < SslRecv(client_id=4)",  # another socket's URC, mid-command
        "DEBUG modem.at: > [75 bytes b'GET /']",
        "DEBUG modem.at: < SendOk()",
        "DEBUG modem.at: < SslPushData id=3 [9 bytes b'HTTP/1.0 ']",  # ours, pushed
        "DEBUG modem.at: > AT+QSSLRECV=4,1500",  # another connection's read
        "DEBUG modem.at: < SslPushData id=4 [7 bytes b'theirs!']",  # another socket's push
        "DEBUG modem.at: < RecvPayload [5 bytes b'other']",
        "DEBUG modem.at: < Ok()",
        "DEBUG modem.at: > AT+CSQ",  # the status page
        "DEBUG modem.at: < +CSQ: 20,99",
        "DEBUG modem.at: < Ok()",
        "DEBUG modem.at: > AT+QSSLCLOSE=3,1",
        "DEBUG modem.at: < Ok()",
        'INFO proxy.connection: closed modem=modem1 conn=1 id=3 reason="remote closed"',
        "DEBUG modem.at: > AT+QSSLCLOSE=4,1",
    ])
    excerpt = demo.serial_excerpt(log)
    assert "client_id=4" not in excerpt and "=4," not in excerpt
    assert "other" not in excerpt and "CSQ" not in excerpt
    assert excerpt.count("< Ok()") == 2 and "SendOk()" in excerpt and "[75 bytes" in excerpt
    assert "HTTP/1.0" in excerpt and "theirs" not in excerpt


def test_example_config_is_valid_and_shows_every_key() -> None:
    path = EXAMPLES / "ssl-proxy.toml"
    config = build_config({}, load_toml(path))
    assert [(str(m.listen), str(m.remote)) for m in config.maps] == [
        ("127.0.0.1:9000", "api.example.com:443"),
        ("127.0.0.1:1883", "broker.example.com:8883"),
    ]
    assert config.maps[1].tls.clientcert == Path("/etc/ssl-proxy/device.pem")
    assert (config.maps[1].max_connections, config.maps[1].idle_reclaim) == (4, 0)
    text = path.read_text()
    keys = {row.name for row in SETTINGS.where(Place.TOP | Place.MAP)
            if not (isinstance(row.kind, Structured) and row.kind.tables)}
    for key in keys:  # [[modem]] keys: tests/proxy/test_config_modems.py
        assert re.search(rf"^(# )?{re.escape(key)} = ", text, re.MULTILINE), key
    assert "/metrics" in text  # what the status listener serves besides the page


def test_example_service_runs_the_proxy_with_the_config_file() -> None:
    unit = (EXAMPLES / "ssl-proxy.service").read_text()
    settings = dict(re.findall(r"^(\w+)=(.*)$", unit, re.MULTILINE))
    assert "--config /etc/ssl-proxy/ssl-proxy.toml" in settings["ExecStart"]
    assert settings["Restart"] == "on-failure"
    assert settings["Type"] == "notify" and int(settings["WatchdogSec"]) > 0
    assert settings["SupplementaryGroups"] == "dialout"
    assert settings["User"] != "root"
    assert settings["NoNewPrivileges"] == "yes"
    assert settings["ProtectSystem"] == "strict"


_UDEV_PAIR = re.compile(r'\s*([A-Z_]+(?:\{[^}]+\})?)\s*(==|!=|\+=|:=|=)\s*"([^"]*)"\s*(?:,|$)')
_UDEV_MATCH_KEYS = {"ACTION", "SUBSYSTEM", "SUBSYSTEMS", "KERNEL", "KERNELS", "ATTRS", "ENV"}
_UDEV_ASSIGN_KEYS = {"SYMLINK", "GROUP", "MODE", "ENV"}


def udev_rules(text: str) -> list[list[tuple[str, str, str]]]:
    """Each rule of a .rules file as (key, operator, value) triples; the file must parse."""
    rules = []
    for line in text.replace("\\\n", " ").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        pairs, position = [], 0
        while position < len(line):
            m = _UDEV_PAIR.match(line, position)
            assert m, f"cannot parse {line[position:]!r}"
            pairs.append(m.groups())
            position = m.end()
        for key, op, _ in pairs:
            base = key.split("{")[0]
            allowed = _UDEV_MATCH_KEYS if op in ("==", "!=") else _UDEV_ASSIGN_KEYS
            assert base in allowed, (key, op)
        rules.append(pairs)
    return rules


def test_udev_rules_name_the_at_port_and_keep_modemmanager_off() -> None:
    rules = udev_rules((EXAMPLES / "99-quectel.rules").read_text())
    at_port = next(r for r in rules if ("SYMLINK", "+=", "quectel-at") in r)
    assert ("ATTRS{idVendor}", "==", "2c7c") in at_port
    assert ("ATTRS{bInterfaceNumber}", "==", "02") in at_port  # the proxy's AT_INTERFACE
    assert ("GROUP", "=", "dialout") in at_port and ("MODE", "=", "0660") in at_port
    ignore = next(r for r in rules if ("ENV{ID_MM_DEVICE_IGNORE}", "=", "1") in r)
    assert ("ATTRS{idVendor}", "==", "2c7c") in ignore
    from proxy.modems.port_discovery import AT_INTERFACE, QUECTEL_VID
    assert f"{QUECTEL_VID:04x}" == "2c7c" and AT_INTERFACE == 2
