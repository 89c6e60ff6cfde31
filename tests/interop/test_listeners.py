"""curl through the proxy's other listeners, as a user would reach them: a Unix
socket file (``curl --unix-socket``), an IPv6 address (``http://[::1]:PORT``),
and a map whose allow list turns 127.0.0.1 away (curl sees a reset)."""

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


def nginx_root(tmp_path: Path) -> tuple[Path, bytes]:
    """nginx's directory with ``www/page.bin``, and the page."""
    root = tmp_path / "nginx"
    (root / "www").mkdir(parents=True)
    (root / "tmp").mkdir()
    page = os.urandom(PAGE_SIZE)
    (root / "www" / "page.bin").write_bytes(page)
    return root, page


def curl(*args: str) -> list[str]:
    return [require("curl"), "--silent", "--show-error", "--noproxy", "*", "--max-time", "30",
            "--header", f"Host: {SERVER_NAME}", *args]


def test_curl_over_a_unix_socket_map_and_a_refused_client(tmp_path: Path, certs: Certs) -> None:
    root, page = nginx_root(tmp_path)
    sock = tmp_path / "run" / "api.sock"
    sock.parent.mkdir()
    with run_nginx(root, certs, tmp_path / "nginx.log") as port:
        config = tmp_path / "proxy.toml"
        config.write_text(f'cacert = "{certs.ca_pem}"\n'
                          f'[[map]]\nlisten = "unix:{sock}"\n'
                          f'connect = "{SERVER_NAME}:{port}"\n'
                          f'[[map]]\nlisten = "127.0.0.1:0"\n'
                          f'connect = "{SERVER_NAME}:{port}"\nallow = ["10.0.0.0/8"]\n')
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
            assert [m["refused"] for m in maps] == [0, 1]
            assert maps[0]["listen"] == f"unix:{sock}"
    assert not sock.exists()


def test_curl_over_an_ipv6_listener(tmp_path: Path, certs: Certs) -> None:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError as exc:
        pytest.skip(f"this machine has no IPv6 loopback (binding ::1: {exc})")
    root, page = nginx_root(tmp_path)
    with run_nginx(root, certs, tmp_path / "nginx.log") as port, \
            run_proxy(tmp_path, "--cacert", str(certs.ca_pem),
                      "--map", f"[::1]:0={SERVER_NAME}:{port}", "--allow", "::1") as proxy:
        listen = proxy.status()["maps"][0]["listen"]
        assert listen.startswith("[::1]:")
        got = run_client(curl("--globoff", f"http://{listen}/page.bin"))
        assert hashlib.sha256(got.stdout).digest() == hashlib.sha256(page).digest()
        assert f"listening on {listen} -> {SERVER_NAME}:{port} (allow ::1)" in proxy.log_text()
