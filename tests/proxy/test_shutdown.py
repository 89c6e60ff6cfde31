"""Stopping the proxy: the grace period, queued connections, signals.

The first SIGINT/SIGTERM stops gracefully (connections that finish within
``--grace`` finish, the rest are reset); a second one stops at once, even
while a command is on the line that the module does not answer, or while a
file is being uploaded.  In process over the emulator on a pty, or the
program itself (``python -m proxy.cli --emulate``), with real TLS servers.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import trio
import trustme

from modem.core.errors import ModuleLost
from modem.emulator import Emulator, EmulatorConfig, Fault
from proxy.cli import parse_command_line
from proxy.service import ServiceState
from tests.helpers import TlsServer, read_all, round_trip, wait_until
from tests.proxy_helpers import (
    ProxyProcess,
    address,
    build_service,
    connect,
    start_proxy,
    start_proxy_process,
)


async def test_shutdown_closes_every_module_socket(emulator, echo_server, ca_file):
    async with trio.open_nursery() as nursery:
        service = await start_proxy(nursery, emulator, "--cacert", str(ca_file),
                                    "--map", f"0=echo.test:{echo_server.port}", "--grace", "1")
        idle = [await connect(service) for _ in range(3)]
        for stream in idle:
            assert await round_trip(stream, b"ping") == b"ping"
        busy = await connect(service)
        assert await round_trip(busy, b"ping") == b"ping"
        assert len(emulator.module.sockets) == 4
        where = address(service)
        service.request_shutdown()
        # a connection that finishes within the grace period finishes normally
        assert await round_trip(busy, b"last words") == b"last words"
        await busy.aclose()
    assert service.state == "stopped"
    assert emulator.module.sockets == {}
    for stream in idle:  # cut when the grace period ended: reset, not a clean end
        with pytest.raises(trio.BrokenResourceError):
            await read_all(stream)
        await stream.aclose()
    assert service.registry.counters.ends["shutdown_cut"] == 3
    with pytest.raises(OSError):
        await trio.open_tcp_stream(where.host, where.port)


async def test_queued_connections_are_dropped_at_shutdown(emulator, echo_server, ca_file):
    async with trio.open_nursery() as nursery:
        service = await start_proxy(nursery, emulator, "--cacert", str(ca_file),
                                    "--map", f"0=echo.test:{echo_server.port}",
                                    "--max-connections", "1", "--grace", "30")
        held = await connect(service)
        assert await round_trip(held, b"x") == b"x"
        queued = await connect(service)
        await wait_until(lambda: len(service.registry) == 2)
        service.request_shutdown()
        with trio.fail_after(5), pytest.raises(trio.BrokenResourceError):
            await read_all(queued)  # reset at once, not after the grace period
        await queued.aclose()
        await held.aclose()  # the open one ends by itself, well within the grace
    assert emulator.module.sockets == {}


async def echoing_program(nursery: trio.Nursery, server_cert: trustme.LeafCert, ca_file: Path,
                          tmp_path: Path, grace: str) -> ProxyProcess:
    """The program (``--emulate``) with one map to an echo server and ``--grace GRACE``."""
    echo = await nursery.start(TlsServer(server_cert, "echo").serve)
    return await start_proxy_process(
        nursery, tmp_path / "proxy.log", "--emulate", "--resolve", "echo.test=127.0.0.1",
        "--cacert", str(ca_file), "--map", f"0=echo.test:{echo.port}", "--grace", grace)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])  # SIGHUP reloads
async def test_a_signal_stops_the_program_gracefully(server_cert, ca_file, tmp_path, nursery,
                                                     signum):
    proxy = await echoing_program(nursery, server_cert, ca_file, tmp_path, grace="0.5")
    async with await trio.open_tcp_stream("127.0.0.1", proxy.port) as stream:
        assert await round_trip(stream, b"through a process") == b"through a process"
        proxy.process.send_signal(signum)
        # Reset once the grace period ended: a cut is never a clean end of stream.
        with trio.fail_after(20), pytest.raises(trio.BrokenResourceError) as cut:
            await read_all(stream)
        assert isinstance(cut.value.__cause__, ConnectionResetError)
    assert await proxy.wait() == 0, proxy.output.decode()
    assert b"Traceback" not in proxy.output and b"error" not in proxy.output


async def test_a_second_signal_stops_at_once(server_cert, ca_file, tmp_path, nursery):
    proxy = await echoing_program(nursery, server_cert, ca_file, tmp_path, grace="600")
    async with await trio.open_tcp_stream("127.0.0.1", proxy.port) as stream:
        assert await round_trip(stream, b"hold") == b"hold"
        proxy.process.send_signal(signal.SIGINT)
        await proxy.wait_for(b"shutting down")
        proxy.process.send_signal(signal.SIGINT)
        assert await proxy.wait() == 1  # well before the grace period
        with pytest.raises(trio.BrokenResourceError) as cut:
            await read_all(stream)
        assert isinstance(cut.value.__cause__, ConnectionResetError)
    assert b"Traceback" not in proxy.output




async def test_a_second_signal_does_not_wait_for_the_command_on_the_line(
        emulator, echo_server, ca_file, nursery):
    """The line's command is shielded: stopping at once must cut it short, not wait out
    its timeout (seconds) while the module does not answer."""
    service = await start_proxy(nursery, emulator, "--cacert", str(ca_file),
                                "--map", f"0=echo.test:{echo_server.port}")
    stream = await connect(service)
    assert await round_trip(stream, b"before") == b"before"
    channel = service.modem._supervisor.channel  # the life whose command is cut short
    await emulator.inject(Fault.silence(600))
    await stream.send_all(b"x" * 3000)  # an AT+QSSLSEND that gets no answer
    await trio.sleep(0.2)  # let the pump put it on the line
    service.request_shutdown()
    await wait_until(lambda: service.state is ServiceState.STOPPING)
    service.stop_now()
    # A hang guard, well below the timeouts of the commands it would otherwise wait out.
    await wait_until(lambda: service.state is ServiceState.STOPPED, within=30)
    assert isinstance(channel.failure, ModuleLost)
    assert "stopping at once" in str(channel.failure)
    await stream.aclose()


async def test_a_second_signal_during_an_upload_does_not_wait_for_it(nursery):
    """The host's CA bundle (~200 KB) takes 20 s to upload at 115200 baud (minutes at 9600); the
    line's send is stuck in the pty meanwhile, and must not hold the stop."""
    config = EmulatorConfig(baud=115200, real_dns=False)
    async with Emulator.running(config) as slow:
        cli = parse_command_line(["--device", slow.device, "--map", "0=echo.test:443"])
        service = build_service(cli, cli.device)
        done = trio.Event()

        async def run() -> None:
            try:
                await service.run()
            finally:
                done.set()

        nursery.start_soon(run)
        await wait_until(lambda: slow.module.line.bytes_in > 3_000)  # the upload is on
        service.request_shutdown()
        service.stop_now()
        with trio.fail_after(10):  # a hang guard: the rest of the upload needs more
            await done.wait()
        assert service.hard_stopped
        assert not slow.module.files.listing("UFS:sp-*")  # cut short, nothing stored
