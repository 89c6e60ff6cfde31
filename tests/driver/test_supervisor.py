"""The supervisor against scripted modules on memory streams (autojump clock)."""

from __future__ import annotations

import json

import trio
import trio.testing

from modem.core.profile import TlsProfile
from modem.driver import CLOSE_ALL_BOUND, Modem, ModuleState, PdpSettings

from .conftest import answer


async def scripted_module(stream: trio.abc.Stream, sim_ok: bool) -> None:
    buf = b""
    try:
        while data := await stream.receive_some(4096):
            buf += data
            while b"\r" in buf:
                line, buf = buf.split(b"\r", 1)
                reply = answer(line.decode(), sim_ok)
                if reply is not None:
                    await stream.send_all(reply)
    except (trio.ClosedResourceError, trio.BrokenResourceError):
        pass  # the test or the host closed the line


async def test_failing_bring_up_is_retried_with_backoff_not_in_a_loop(autojump_clock):
    opens = []
    first_module_side = []

    async with trio.open_nursery() as nursery:
        async def open_stream():
            host, module_side = trio.testing.memory_stream_pair()
            opens.append(trio.current_time())
            if not first_module_side:
                first_module_side.append(module_side)
            nursery.start_soon(scripted_module, module_side, len(opens) == 1)
            return host

        async with Modem.open(open_stream, pdp=PdpSettings()) as modem:
            assert modem.state.value is ModuleState.READY
            await first_module_side[0].aclose()  # the first module goes away...
            await trio.sleep(120)  # ...and every later one has no SIM
            assert modem.state.value is ModuleState.RECOVERING
        nursery.cancel_scope.cancel()
    retries = len(opens) - 1
    # 0.5 + 1 + 2 + 4 + 8 + 16 + 30 + 30 + 30 s: about nine tries in two minutes.
    assert 5 <= retries <= 12, retries


async def test_exit_is_bounded_when_the_module_stops_confirming_closes(autojump_clock):
    profile = TlsProfile(seclevel=0)
    async with trio.open_nursery() as nursery:
        async def open_stream():
            host, module_side = trio.testing.memory_stream_pair()
            nursery.start_soon(scripted_module, module_side, True)
            return host

        async with Modem.open(open_stream, profiles=[profile]) as modem:
            for _ in range(3):
                cid = await modem.client_ids.acquire()
                await modem.open_ssl_socket(cid, "a.test", 443, profile)
            exit_started = trio.current_time()
        took = trio.current_time() - exit_started
        nursery.cancel_scope.cancel()
    # Three unanswered closes would take 3 x (6 s + a resync) = 21 s without the bound.
    assert CLOSE_ALL_BOUND <= took <= 11.0


async def test_state_reads_as_its_name_in_the_status_json(autojump_clock):
    async with trio.open_nursery() as nursery:
        async def open_stream():
            host, module_side = trio.testing.memory_stream_pair()
            nursery.start_soon(scripted_module, module_side, True)
            return host

        async with Modem.open(open_stream) as modem:
            assert json.dumps({"state": modem.state.value}) == '{"state": "ready"}'
        assert modem.state.value is ModuleState.CLOSED
        assert json.dumps(modem.state.value) == '"closed"'
        nursery.cancel_scope.cancel()
