"""``socat`` on the AT console while data flows through another connection.

The data connection goes to a ``socat`` TLS echo server; the test keeps
sending until the console exchange is over, so the console's commands are
certainly queued between data commands, then checks every echoed byte.
"""

from __future__ import annotations

import hashlib
import os
import select
import socket
import threading
import time
from pathlib import Path

import pytest

from .conftest import SERVER_NAME, Certs, free_port, require, run_client, run_proxy, run_server

pytestmark = pytest.mark.interop

CHUNK = 16 * 1024
FLOWING = 128 * 1024  # echoed before the console is asked


class EchoFlow:
    """Sends random chunks to ``port`` until ``stop`` is set, reads the echo back."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sent = hashlib.sha256()
        self.received = hashlib.sha256()
        self.sent_bytes = 0
        self.received_bytes = 0
        self.flowing = threading.Event()
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self._threads = [threading.Thread(target=self._guard, args=(f,), daemon=True)
                         for f in (self._send, self._receive)]

    def _guard(self, target) -> None:
        try:
            target()
        except BaseException as exc:  # reported by finish()
            self.errors.append(exc)
            self.flowing.set()

    def _send(self) -> None:
        while not self.stop.is_set():
            data = os.urandom(CHUNK)
            self.sock.sendall(data)
            self.sent.update(data)
            self.sent_bytes += len(data)

    def _receive(self) -> None:
        sender = self._threads[0]
        deadline = time.monotonic() + 60
        while True:
            done = not sender.is_alive()  # read before the counts: then they are final
            if done and self.received_bytes >= self.sent_bytes:
                return
            if time.monotonic() > deadline:
                raise TimeoutError("the echo did not come back within 60 s")
            readable, _, _ = select.select([self.sock], [], [], 0.2)
            if not readable:
                continue
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("the echo ended early")
            self.received.update(data)
            self.received_bytes += len(data)
            if self.received_bytes >= FLOWING:
                self.flowing.set()

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        self.sock.close()
        assert not self.errors, self.errors
        assert not any(t.is_alive() for t in self._threads), "the echo flow did not finish"


def test_at_console_answers_while_data_flows(tmp_path: Path, certs: Certs) -> None:
    echo_port = free_port()
    console_port = free_port()
    echo = [require("socat"),
            f"OPENSSL-LISTEN:{echo_port},bind=127.0.0.1,reuseaddr,fork,"
            f"cert={certs.server_cert},key={certs.server_key},verify=0",
            "PIPE"]

    with run_server(echo, echo_port, tmp_path / "socat-echo.log"), \
            run_proxy(tmp_path, "--cacert", str(certs.ca_pem),
                      "--map", f"0={SERVER_NAME}:{echo_port}",
                      "--at-console", f"127.0.0.1:{console_port}") as proxy:
        flow = EchoFlow(proxy.port())
        flow.start()
        try:
            assert flow.flowing.wait(timeout=30), "no data flowed through the proxy"
            assert not flow.errors, flow.errors
            # socat -t: after stdin's end, wait up to 10 s for the console to answer and close.
            console = run_client(
                [require("socat"), "-t", "10", "-", f"TCP:127.0.0.1:{console_port}"],
                input=b"AT+CSQ\r\nAT+QSSLCLOSE=0\r\nAT\r\n")
        finally:
            flow.finish()

        lines = console.stdout.decode("ascii").split("\r\n")
        assert lines[0].startswith("+CSQ: ")
        assert lines[1] == "OK"
        assert lines[2].startswith("ERROR")
        assert "QSSLCLOSE" in lines[2]
        assert lines[3:] == ["OK", ""]

        assert flow.received_bytes == flow.sent_bytes > FLOWING
        assert flow.received.hexdigest() == flow.sent.hexdigest()
        counters = proxy.status()["counters"]
        assert counters["opened"] == 1
