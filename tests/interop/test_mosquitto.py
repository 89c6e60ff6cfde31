"""mosquitto_pub and mosquitto_sub, speaking plain MQTT to the proxy, against a
mosquitto broker listening on TLS."""

from __future__ import annotations

import hashlib
import os
import pwd
import subprocess
from pathlib import Path

import pytest

from .conftest import SERVER_NAME, Certs, free_port, require, run_client, run_proxy, run_server

pytestmark = pytest.mark.interop

BIG_PAYLOAD = 300 * 1024


def broker_conf(tmp_path: Path, port: int, certs: Certs) -> str:
    return f"""
# As root, mosquitto would switch to the "mosquitto" user, who cannot read
# the test's private files: stay the user who runs the test.
user {pwd.getpwuid(os.geteuid()).pw_name}
persistence false
log_dest stderr
log_type error
log_type warning
log_type notice
listener {port} 127.0.0.1
cafile {certs.ca_pem}
certfile {certs.server_cert}
keyfile {certs.server_key}
tls_version tlsv1.2
allow_anonymous true
"""


def test_publish_and_subscribe_through_the_proxy(tmp_path: Path, certs: Certs) -> None:
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(broker_conf(tmp_path, port, certs))
    big = os.urandom(BIG_PAYLOAD)
    (tmp_path / "big.bin").write_bytes(big)

    with run_server([require("mosquitto"), "-c", str(conf)], port, tmp_path / "broker.log"), \
            run_proxy(tmp_path, "--cacert", str(certs.ca_pem),
                      "--map", f"0={SERVER_NAME}:{port}") as proxy:
        local = str(proxy.port())
        common = ["-h", "127.0.0.1", "-p", local, "-V", "mqttv311"]

        # Retained, so the subscriber gets them whenever it subscribes.
        run_client([require("mosquitto_pub"), *common, "-t", "interop/big", "-q", "1", "-r",
                    "-f", str(tmp_path / "big.bin")])
        run_client([require("mosquitto_pub"), *common, "-t", "interop/text", "-q", "1", "-r",
                    "-m", "hello through the module"])

        got = run_client([require("mosquitto_sub"), *common, "-t", "interop/big", "-q", "1",
                          "-C", "1", "-N", "-W", "20"])
        assert hashlib.sha256(got.stdout).hexdigest() == hashlib.sha256(big).hexdigest()

        text = run_client([require("mosquitto_sub"), *common, "-t", "interop/text", "-C", "1",
                           "-W", "20"])
        assert text.stdout == b"hello through the module\n"

        # Two connections through the proxy at once: a subscriber waits while a
        # publisher sends from stdin (retained, so the order does not matter).
        live = os.urandom(64 * 1024)
        with subprocess.Popen([require("mosquitto_sub"), *common, "-t", "interop/live",
                               "-q", "1", "-C", "1", "-N", "-W", "20"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) as sub:
            try:
                run_client([require("mosquitto_pub"), *common, "-t", "interop/live", "-q", "1",
                            "-r", "-s"], input=live)
                out, err = sub.communicate(timeout=30)
            finally:
                sub.kill()
        assert sub.returncode == 0, err.decode(errors="replace")
        assert hashlib.sha256(out).hexdigest() == hashlib.sha256(live).hexdigest()
        assert proxy.status()["counters"]["open_failures"] == {}
