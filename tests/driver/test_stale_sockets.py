"""Sockets an earlier run left open on the module are closed at the next start
(``bringup.steps.close_stale_sockets``): the emulator keeps them across runs of
the driver, as a module keeps them across restarts of the host's service."""

from __future__ import annotations

import trio

from modem.core.profile import TlsProfile
from modem.emulator import Emulator
from tests.driver.conftest import modem_on, open_socket
from tests.helpers import TlsServer, round_trip


async def test_a_new_run_closes_what_the_last_one_left_and_reuses_the_ids(
        emulator: Emulator, echo_server: TlsServer, profile: TlsProfile) -> None:
    async with modem_on(emulator.device, profile) as modem:
        for _ in range(3):
            await open_socket(modem, echo_server.port, profile)
        # The process dies: nothing more reaches the module, its sockets stay.
        modem.abort("the host's service was killed")
    first_ids = sorted(emulator.module.sockets)  # the pool's first three (push_headers)
    assert len(first_ids) == 3

    async with modem_on(emulator.device, profile) as modem:
        assert not emulator.module.sockets, "bring-up left the last run's sockets open"
        socks = [await open_socket(modem, echo_server.port, profile) for _ in range(3)]
        assert [s.client_id for s in socks] == first_ids  # the same IDs, free again
        with trio.fail_after(10):
            for n, sock in enumerate(socks):
                assert await round_trip(sock, b"again %d" % n) == b"again %d" % n
        for sock in socks:
            await sock.aclose()
