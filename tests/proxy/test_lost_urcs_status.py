"""The proxy on a module whose URCs never reach us: it works, slower, and says so."""

from __future__ import annotations

import json
import logging

import pytest
import trio

from modem.core.urc_watch import UrcPolling
from modem.emulator import Emulator, EmulatorConfig
from tests.helpers import round_trip
from tests.proxy_helpers import connect, http_get, start_proxy

# Scaled (production: 3 s before asking after a late open, polls 0.5-3 s apart).
FAST = UrcPolling(open_check_after=0.2, open_check_max=0.4, read_poll_first=0.05,
                  read_poll_max=0.2, missing_after=1)


async def test_no_urcs_at_all_still_proxies_and_the_status_page_says_so(
        echo_server, ca_file, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.WARNING, logger="modem.driver")
    config = EmulatorConfig(resolve={"echo.test": "127.0.0.1"}, real_dns=False,
                            faults=("urc_loss:1",))
    async with Emulator.running(config) as emu, trio.open_nursery() as nursery:
        service = await start_proxy(nursery, emu, "--cacert", str(ca_file),
                                    "--map", f"0=echo.test:{echo_server.port}", "--status", "0",
                                    modem_options={"urc_polling": FAST})
        with trio.fail_after(20):
            async with await connect(service) as stream:
                for size in (10, 3000, 70):
                    assert await round_trip(stream, b"q" * size) == b"q" * size
                status, body = await http_get(service.status_address, "/status.json")
        assert status == 200
        urcs = json.loads(body)["module"]["urcs"]
        assert urcs["urcs"] == "missing"
        # A push open resolved by polling is reopened in buffer mode (its first pushes went
        # elsewhere), and that open is resolved by polling too.
        assert urcs["opens_resolved_by_state"] == 2
        assert urcs["data_found_by_poll"] >= 3
        # Push is the default, but pushes would go where the URCs go: not here.
        assert json.loads(body)["module"]["access_mode"] == "buffer"
        status, page = await http_get(service.status_address, "/")
        assert b"opens_resolved_by_state: 2" in page
        assert b"<th>access_mode</th>" in page and b"<td>buffer</td>" in page
        warnings = [r for r in caplog.records if "no socket URC arrived" in r.getMessage()]
        assert len(warnings) == 1
        service.stop_now()
