"""Helpers for the interop tests: real programs through ``ssl-proxy --emulate``.

Every program (the proxy too) is a subprocess started by the test on free
ports of 127.0.0.1 with its own files under ``tmp_path``, and stopped at the
end; every wait is bounded.  A missing program fails the test with the
Debian package to install (``tests/interop/install.sh``, the first step of the
README's test command, installs them all), it never skips.

* ``certs`` (fixture): a trustme CA and a server certificate for
  ``SERVER_NAME`` written to PEM files; ``certs.client(name)`` issues a
  client certificate.
* ``run_proxy(tmp_path, *flags)``: the proxy on the emulator with
  ``--resolve SERVER_NAME=127.0.0.1`` and a ``--status`` page; ready when
  the page says ``serving``; stopped with SIGINT, exit status 0 checked.
* ``run_server(command, port, log)``: a server process, ready when its
  port accepts TCP.
* ``run_client(command, ...)``: a client program to completion.
* ``run_nginx(root, certs, log)``: nginx serving ``root/www`` over TLS; its port.

The tests here are synchronous (they drive blocking programs), so the proxy
runs under ``subprocess.Popen`` here, not under Trio as in
``tests/proxy_helpers.py``'s ``start_proxy_process``; the command is the same.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trustme

from tests.helpers import REPO, free_port
from tests.proxy_helpers import proxy_command

SERVER_NAME = "interop.test"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0
CLIENT_TIMEOUT = 30.0

# Program -> the Debian package that has it.
PACKAGES = {
    "curl": "curl",
    "nginx": "nginx-light",
    "mosquitto": "mosquitto",
    "mosquitto_pub": "mosquitto-clients",
    "mosquitto_sub": "mosquitto-clients",
    "redis-server": "redis-server",
    "redis-cli": "redis-server (redis-tools)",
    "socat": "socat",
    "openssl": "openssl",
    "ab": "apache2-utils",
}


def require(program: str) -> str:
    """The path of ``program``; fails the test (no skip) when it is not installed."""
    for directory in ("", "/usr/sbin/", "/sbin/"):
        path = shutil.which(program) if not directory else directory + program
        if path and os.access(path, os.X_OK):
            return path
    pytest.fail(f"{program} is not installed: apt-get install {PACKAGES.get(program, program)}"
                " (bash tests/interop/install.sh installs every program the interop tests drive)",
                pytrace=False)


def wait_for_port(port: int, process: subprocess.Popen[bytes] | None = None, *,
                  timeout: float = START_TIMEOUT, log: Path | None = None) -> None:
    """Until 127.0.0.1:``port`` accepts TCP; fails early if ``process`` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            assert isinstance(process.args, list)
            program = os.fsdecode(process.args[0])
            pytest.fail(f"{program} exited with status {process.returncode} before "
                        f"listening on {port}{_tail(log)}", pytrace=False)
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.05)
    pytest.fail(f"nothing listens on 127.0.0.1:{port} after {timeout:g} s{_tail(log)}",
                pytrace=False)


def _tail(log: Path | None, lines: int = 40) -> str:
    if log is None or not log.exists():
        return ""
    text = log.read_text(errors="replace").splitlines()[-lines:]
    return f"; last lines of {log.name}:\n" + "\n".join(text)


def _stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
    """Signal ``process`` and wait; kill it when it does not stop in time."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)
            return -9
    return process.returncode


# -- certificates ----------------------------------------------------------------

@dataclass
class Certs:
    """PEM files in ``directory``: the CA, the server's chain and key."""

    ca: trustme.CA
    directory: Path
    ca_pem: Path
    server_cert: Path
    server_key: Path

    def client(self, name: str = "device-1") -> tuple[Path, Path]:
        """A client certificate (clientAuth) and its key, signed by the CA."""
        leaf = self.ca.issue_cert(f"{name}@{SERVER_NAME}", common_name=name)
        cert = self.directory / f"{name}.pem"
        key = self.directory / f"{name}.key"
        leaf.cert_chain_pems[0].write_to_path(str(cert))
        leaf.private_key_pem.write_to_path(str(key))
        return cert, key


@pytest.fixture
def certs(tmp_path: Path) -> Certs:
    directory = tmp_path / "certs"
    directory.mkdir()
    ca = trustme.CA()
    leaf = ca.issue_cert(SERVER_NAME, "localhost", "127.0.0.1")
    ca_pem = directory / "ca.pem"
    server_cert = directory / "server.pem"
    server_key = directory / "server.key"
    ca.cert_pem.write_to_path(str(ca_pem))
    server_cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    leaf.private_key_pem.write_to_path(str(server_key))
    return Certs(ca, directory, ca_pem, server_cert, server_key)


# -- processes -------------------------------------------------------------------

@contextlib.contextmanager
def run_server(command: Sequence[str], port: int, log: Path, *, cwd: Path | None = None
               ) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server until the block ends (SIGTERM, then SIGKILL after a while)."""
    require(command[0])
    with log.open("wb") as out:
        process = subprocess.Popen(list(command), stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT, cwd=cwd)
    try:
        wait_for_port(port, process, log=log)
        yield process
    finally:
        _stop(process)


def run_client(command: Sequence[str], *, input: bytes | None = None,
               timeout: float = CLIENT_TIMEOUT, check: bool = True
               ) -> subprocess.CompletedProcess[bytes]:
    """Run a client program to completion; fails the test on a timeout (or an error with
    ``check``), showing its stderr."""
    require(command[0])
    try:
        result = subprocess.run(list(command), input=input, capture_output=True,
                                timeout=timeout, check=False,
                                stdin=subprocess.DEVNULL if input is None else None)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{' '.join(command)} did not finish within {timeout:g} s", pytrace=False)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited with status {result.returncode}: "
                    f"{result.stderr.decode(errors='replace').strip()}", pytrace=False)
    return result


@dataclass
class Proxy:
    """A running ``ssl-proxy`` subprocess."""

    process: subprocess.Popen[bytes]
    status_port: int
    log: Path

    def status(self) -> dict[str, Any]:
        """``/status.json``."""
        conn = http.client.HTTPConnection("127.0.0.1", self.status_port, timeout=10)
        try:
            conn.request("GET", "/status.json")
            status: dict[str, Any] = json.loads(conn.getresponse().read())
            return status
        finally:
            conn.close()

    def port(self, index: int = 0) -> int:
        """The local port of the ``index``-th map (maps may ask for port 0)."""
        listen = self.status()["maps"][index]["listen"]
        return int(listen.rsplit(":", 1)[1])

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def wait_serving(proxy: Proxy) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proxy.process.poll() is not None:
            pytest.fail(f"ssl-proxy exited with status {proxy.process.returncode} during "
                        f"start-up{_tail(proxy.log)}", pytrace=False)
        with contextlib.suppress(OSError, ValueError, http.client.HTTPException):
            # Listeners are bound before the bring-up; the status page answers after it.
            if proxy.status()["service"]["state"] == "serving":
                return
        time.sleep(0.05)
    pytest.fail(f"ssl-proxy not serving after {START_TIMEOUT:g} s{_tail(proxy.log)}",
                pytrace=False)


@contextlib.contextmanager
def run_proxy(tmp_path: Path, *flags: str, name: str = "proxy") -> Iterator[Proxy]:
    """``ssl-proxy --emulate --resolve SERVER_NAME=127.0.0.1 --status PORT -v FLAGS``.

    Stopped with SIGINT at the end of the block; its exit status must be 0.
    """
    status_port = free_port()
    log = tmp_path / f"{name}.log"
    command = proxy_command("--emulate", "--resolve", f"{SERVER_NAME}=127.0.0.1",
                            "--status", f"127.0.0.1:{status_port}", "-v", *flags)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    proxy = Proxy(process, status_port, log)
    try:
        wait_serving(proxy)
        yield proxy
    except BaseException:
        _stop(process, signal.SIGINT)
        raise
    status = _stop(process, signal.SIGINT)
    assert status == 0, f"ssl-proxy exited with status {status} after SIGINT{_tail(log)}"


# -- nginx ------------------------------------------------------------------------

@contextlib.contextmanager
def run_nginx(root: Path, certs: Certs, log: Path) -> Iterator[int]:
    """nginx serving ``root/www`` over TLS (WebDAV under ``/dav/``; ``root/tmp`` must
    exist) until the block ends; its port."""
    port = free_port()
    (root / "nginx.conf").write_text(_nginx_conf(root, port, certs))
    command = [require("nginx"), "-e", "stderr", "-p", str(root), "-c", str(root / "nginx.conf"),
               "-g", f"daemon off; pid {root}/nginx.pid; error_log stderr;"]
    with run_server(command, port, log):
        yield port


def _nginx_conf(root: Path, port: int, certs: Certs) -> str:
    # The master runs as whoever runs the tests; as root it would hand the
    # workers to "nobody", who cannot read the test's private files.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    temp = "\n".join(f"    {kind}_temp_path {root}/tmp/{kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""
{user}
worker_processes 1;
events {{ worker_connections 64; }}
http {{
    access_log off;
{temp}
    default_type application/octet-stream;
    client_max_body_size 16m;
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name {SERVER_NAME};
        ssl_certificate {certs.server_cert};
        ssl_certificate_key {certs.server_key};
        ssl_protocols TLSv1.2;
        root {root}/www;
        location /dav/ {{
            dav_methods PUT DELETE;
            create_full_put_path on;
        }}
    }}
}}
"""
