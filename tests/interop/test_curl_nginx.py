"""curl, speaking plain HTTP to the proxy, against nginx serving HTTPS."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from .conftest import SERVER_NAME, Certs, require, run_client, run_nginx, run_proxy

pytestmark = pytest.mark.interop

DOWNLOAD_SIZE = 1024 * 1024
UPLOAD_SIZE = 512 * 1024


def curl(*args: str) -> list[str]:
    """curl with ``args`` (URLs last), plain HTTP, no proxy from the environment."""
    return [require("curl"), "--silent", "--show-error", "--noproxy", "*", "--max-time", "30",
            "--header", f"Host: {SERVER_NAME}", *args]


def test_curl_downloads_and_uploads_through_nginx(tmp_path: Path, certs: Certs) -> None:
    root = tmp_path / "nginx"
    (root / "www" / "dav").mkdir(parents=True)
    (root / "tmp").mkdir()
    download = os.urandom(DOWNLOAD_SIZE)
    (root / "www" / "random.bin").write_bytes(download)
    upload = os.urandom(UPLOAD_SIZE)
    (tmp_path / "upload.bin").write_bytes(upload)

    with run_nginx(root, certs, tmp_path / "nginx.log") as port, \
            run_proxy(tmp_path, "--cacert", str(certs.ca_pem),
                      "--map", f"0={SERVER_NAME}:{port}") as proxy:
        url = f"http://127.0.0.1:{proxy.port()}"
        got = run_client(curl(f"{url}/random.bin"))
        assert hashlib.sha256(got.stdout).hexdigest() == hashlib.sha256(download).hexdigest()

        put = run_client(curl("--upload-file", str(tmp_path / "upload.bin"),
                              "--write-out", "%{http_code}", "--output", "/dev/null",
                              f"{url}/dav/upload.bin"))
        assert put.stdout == b"201"
        stored = (root / "www" / "dav" / "upload.bin").read_bytes()
        assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(upload).hexdigest()

        # Two requests on one kept-alive connection, the second a 404.
        both = run_client(curl("--write-out", "%{http_code} %{num_connects}\n",
                               "--output", "/dev/null", "--output", "/dev/null",
                               f"{url}/dav/upload.bin", f"{url}/missing"))
        assert both.stdout.split(b"\n")[:2] == [b"200 1", b"404 0"]

        counters = proxy.status()["counters"]
        assert counters["opened"] == 3
        assert counters["open_failures"] == {}
