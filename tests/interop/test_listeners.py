"""curl through the proxy's other listeners, as a user would reach them: a Unix
socket file (``curl --unix-socket``), an IPv6 address (``http://[::1]:PORT``,
when the machine has an IPv6 loopback: tests/proxy/test_ipv6_listener.py says
so when it has none), and a map whose allow list turns 127.0.0.1 away (curl
sees the reset)."""

from __future__ import annotations

import hashlib
import os
import socket
import stat
from pathlib import Path

import pytest

from .conftest import SERVER_NAME, Certs, require, run_client, run_nginx, run_proxy

pytestmark = pytest.mark.interop

PAGE_SIZE = 256 * 1024


def has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


def curl(*args: str) -> list[str]:
    return [require("curl"), "--silent", "--show-error", "--noproxy", "*", "--max-time", "30",
            "--globoff", "--header", f"Host: {SERVER_NAME}", *args]


def test_curl_over_a_unix_socket_ipv6_and_a_refused_client(tmp_path: Path, certs: Certs) -> None:
    root = tmp_path / "nginx"
    (root / "www").mkdir(parents=True)
    (root / "tmp").mkdir()
    page = os.urandom(PAGE_SIZE)
    (root / "www" / "page.bin").write_bytes(page)
    sock = tmp_path / "run" / "api.sock"
    sock.parent.mkdir()
    ipv6 = has_ipv6_loopback()
    with run_nginx(root, certs, tmp_path / "nginx.log") as port:
        remote = f"{SERVER_NAME}:{port}"
        config = tmp_path / "proxy.toml"
        config.write_text(
            f'cacert = "{certs.ca_pem}"\n'
            f'[[map]]\nlisten = "unix:{sock}"\nconnect = "{remote}"\n'
            f'[[map]]\nlisten = "127.0.0.1:0"\nconnect = "{remote}"\nallow = ["10.0.0.0/8"]\n'
            + (f'[[map]]\nlisten = "[::1]:0"\nconnect = "{remote}"\nallow = ["::1"]\n'
               if ipv6 else ""))
        with run_proxy(tmp_path, "--config", str(config)) as proxy:
            assert stat.S_IMODE(os.stat(sock).st_mode) == 0o660
            got = run_client(curl("--unix-socket", str(sock), "http://localhost/page.bin"))
            assert hashlib.sha256(got.stdout).digest() == hashlib.sha256(page).digest()

            refused = run_client(curl(f"http://127.0.0.1:{proxy.port(1)}/page.bin"),
                                 check=False)
            # The reset comes at once: curl may see it as it completes the connect
            # (7: "Couldn't connect") or on its first read (56: "Connection reset").
            assert refused.returncode in (7, 56), refused
            assert refused.stdout == b""

            maps = proxy.status()["maps"]
            if ipv6:
                listen = maps[2]["listen"]
                assert listen.startswith("[::1]:")
                got = run_client(curl(f"http://{listen}/page.bin"))
                assert hashlib.sha256(got.stdout).digest() == hashlib.sha256(page).digest()
                assert f"listening on {listen} -> {remote} (allow ::1)" in proxy.log_text()
            assert [m["refused"] for m in maps] == [0, 1, 0][:len(maps)]
            assert maps[0]["listen"] == f"unix:{sock}"
    assert not sock.exists()
