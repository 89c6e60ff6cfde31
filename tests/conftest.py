"""Fixtures every test directory shares: the test CA, its server certificate, an echo server.

* ``ca``: the trustme CA the tests' servers and the modem's profiles trust (one per run).
* ``other_ca``: a second CA that trusts none of them.
* ``server_cert``: a certificate from ``ca`` for every name of ``tests.helpers.SERVER_NAMES``.
* ``ca_file``: ``ca``'s certificate as a PEM file (for ``--cacert``).
* ``echo_server``: a ``TlsServer`` echoing on 127.0.0.1 with ``server_cert``, for one test.

The plain helpers (``TlsServer``, ``free_port``, ``receive_exactly``, ``wait_until``,
...) are in ``tests/helpers.py``; those that need the proxy or the emulator in
``tests/proxy_helpers.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
import trustme

from tests.helpers import SERVER_NAMES, TlsServer


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def other_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def server_cert(ca: trustme.CA) -> trustme.LeafCert:
    return ca.issue_cert(*SERVER_NAMES)


@pytest.fixture(scope="session")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
async def echo_server(server_cert: trustme.LeafCert, nursery: trio.Nursery) -> TlsServer:
    server = TlsServer(server_cert, "echo")
    await nursery.start(server.serve)
    return server
