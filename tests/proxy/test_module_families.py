"""Every module family the emulator plays (``--model``, docs/modules.md) carries a
byte-exact echo through the proxy process, which adapts to what ``ATI`` says."""

from __future__ import annotations

import hashlib
import os

import pytest
import trio

from modem.emulator import Emulator, EmulatorConfig
from modem.emulator.models import MODELS
from proxy.config.endpoint import Endpoint
from tests.helpers import free_port, round_trip
from tests.proxy_helpers import start_proxy_process, status_json

# model -> (the family the proxy finds, the access mode its sockets open in)
EXPECTED = {
    "ec25": ("ec2x", "push"),
    "eg25-g": ("ec2x", "push"),
    "bg96": ("bg96", "buffer"),
    "bg95": ("bg95", "buffer"),
    "ec200u": ("ec200u", "buffer"),
    "eg800k": ("eg800k", "buffer"),
}


def test_every_preset_has_its_expectation():
    assert set(EXPECTED) == set(MODELS)


@pytest.mark.parametrize("model", list(MODELS))
async def test_an_echo_through_the_proxy_process_on_each_family(
        model, echo_server, ca_file, tmp_path, nursery):
    config = EmulatorConfig(model=model, resolve={"echo.test": "127.0.0.1"}, real_dns=False)
    async with Emulator.running(config) as emulator:
        status_port = free_port()
        proxy = await start_proxy_process(
            nursery, tmp_path / "proxy.log", "--device", emulator.device,
            "--cacert", str(ca_file), "--map", f"0=echo.test:{echo_server.port}",
            "--status", str(status_port), within=30)
        payload = os.urandom(100_000)
        with trio.fail_after(30):
            stream = await trio.open_tcp_stream("127.0.0.1", proxy.port)
            async with stream:
                echoed = await round_trip(stream, payload)
        assert hashlib.sha256(echoed).digest() == hashlib.sha256(payload).digest()
        status_at = Endpoint("127.0.0.1", status_port)
        with trio.fail_after(10):  # a loaded host may take over 0.8 s to answer the first time
            while "model" not in (page := await status_json(status_at))["module"]:  # noqa: ASYNC110
                await trio.sleep(0.1)
        module = page["module"]
        assert (module["family"], module["access_mode"]) == EXPECTED[model]
        assert module["model"] == MODELS[model].model
        # BG95 firmware checks the server's name (checkhost), and the proxy turns it on.
        assert page["maps"][0]["name_checked"] is (model == "bg95")
        assert await proxy.stop() == 0
