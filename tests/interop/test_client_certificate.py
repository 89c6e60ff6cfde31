"""A server that requires a client certificate (``openssl s_server -Verify 1``):
one map presents the certificate (seclevel 2) and gets through, another map to
the same server has none and its local connection is closed with the code
logged.  The two maps come from a ``--config`` file."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest

from .conftest import SERVER_NAME, Certs, free_port, require, run_client, run_proxy, run_server

pytestmark = pytest.mark.interop


def test_client_certificate_required_by_the_server(tmp_path: Path, certs: Certs) -> None:
    client_cert, client_key = certs.client("device-1")
    www = tmp_path / "www"
    www.mkdir()
    content = os.urandom(100 * 1024)
    (www / "secret.bin").write_bytes(content)
    port = free_port()
    server = [require("openssl"), "s_server", "-accept", f"127.0.0.1:{port}",
              "-cert", str(certs.server_cert), "-key", str(certs.server_key),
              "-CAfile", str(certs.ca_pem), "-Verify", "1", "-verify_return_error",
              "-WWW", "-http_server_binmode", "-tls1_2"]
    config = tmp_path / "ssl-proxy.toml"
    config.write_text(f"""
cacert = "{certs.ca_pem}"

[[map]]
listen = 0
connect = "{SERVER_NAME}:{port}"
clientcert = "{client_cert}"
clientkey = "{client_key}"

[[map]]
listen = 0
connect = "{SERVER_NAME}:{port}"
""")
    curl = [require("curl"), "--silent", "--show-error", "--noproxy", "*", "--max-time", "30"]

    with run_server(server, port, tmp_path / "s_server.log", cwd=www), \
            run_proxy(tmp_path, "--config", str(config)) as proxy:
        assert [m["seclevel"] for m in proxy.status()["maps"]] == [2, 1]
        with_cert, without_cert = proxy.port(0), proxy.port(1)

        got = run_client([*curl, f"http://127.0.0.1:{with_cert}/secret.bin"])
        assert hashlib.sha256(got.stdout).hexdigest() == hashlib.sha256(content).hexdigest()

        refused = run_client([*curl, f"http://127.0.0.1:{without_cert}/secret.bin"],
                             check=False)
        # The proxy closed the local connection: curl saw an empty reply (52), or a
        # reset (56) since its unread request was still in the socket's buffer.
        assert refused.returncode in (52, 56), refused.stderr
        assert refused.stdout == b""

        failures = proxy.status()["counters"]["open_failures"]
        assert len(failures) == 1 and sum(failures.values()) == 1
        code = int(next(iter(failures)))
        assert 550 <= code <= 574
        assert re.search(rf"open failed .*error {code}\b", proxy.log_text())

        # The failure did not disturb the other map.
        again = run_client([*curl, f"http://127.0.0.1:{with_cert}/secret.bin"])
        assert again.stdout == content
