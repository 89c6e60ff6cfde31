"""redis-cli, speaking plain RESP to the proxy, against redis-server on TLS only."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from .conftest import SERVER_NAME, Certs, free_port, require, run_client, run_proxy, run_server

pytestmark = pytest.mark.interop

BIG_VALUE = 256 * 1024


def test_set_and_get_through_the_proxy(tmp_path: Path, certs: Certs) -> None:
    port = free_port()
    server = [require("redis-server"), "--port", "0", "--tls-port", str(port),
              "--bind", "127.0.0.1", "--tls-cert-file", str(certs.server_cert),
              "--tls-key-file", str(certs.server_key), "--tls-ca-cert-file", str(certs.ca_pem),
              "--tls-auth-clients", "no", "--tls-protocols", "TLSv1.2",
              "--save", "", "--appendonly", "no", "--dir", str(tmp_path),
              "--daemonize", "no", "--protected-mode", "no"]
    # Every byte value, CR LF and RESP framing among them, then random bytes.
    big = bytes(range(256)) + b"\r\n$-1\r\n*0\r\n" + os.urandom(BIG_VALUE)

    with run_server(server, port, tmp_path / "redis.log"), \
            run_proxy(tmp_path, "--cacert", str(certs.ca_pem),
                      "--map", f"0={SERVER_NAME}:{port}") as proxy:
        cli = [require("redis-cli"), "-h", "127.0.0.1", "-p", str(proxy.port())]

        assert run_client([*cli, "PING"]).stdout == b"PONG\n"
        assert run_client([*cli, "SET", "greeting", "hello module"]).stdout == b"OK\n"
        assert run_client([*cli, "GET", "greeting"]).stdout == b"hello module\n"

        # -x: the value is stdin, byte for byte.
        assert run_client([*cli, "-x", "SET", "blob"], input=big).stdout == b"OK\n"
        assert run_client([*cli, "STRLEN", "blob"]).stdout == f"{len(big)}\n".encode()
        raw = run_client([*cli, "--raw", "GET", "blob"]).stdout
        assert raw.endswith(b"\n")  # --raw adds one line end after the value
        assert hashlib.sha256(raw[:-1]).hexdigest() == hashlib.sha256(big).hexdigest()

        # Many commands on one connection (a pipeline from stdin).
        script = "".join("INCR counter\n" for _ in range(500)).encode() + b"GET counter\n"
        out = run_client([*cli], input=script).stdout.split(b"\n")
        assert out[-2] == b"500"
        assert proxy.status()["counters"]["open_failures"] == {}
