"""One power-on lifetime of the emulated module: its state and its tasks.

A restart (``AT+CFUN=1,1`` or the ``restart`` fault) cancels the ``Module``
and the emulator builds a new one: echo on again, contexts and sockets gone,
``RAM:`` files lost; the ``FileStore``'s ``UFS:`` area is shared and survives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import trio

from .clock import ModuleClock
from .config import EmulatorConfig
from .faults import Fault, FaultState
from .files import FileStore
from .line import HostLine
from .ssl_sockets import SocketState, SslSocket
from .tls import SslContextConfig

BOOT_URCS = (b"\r\n+CPIN: READY\r\n", b"\r\n+QUSIM: 1\r\n", b"\r\n+QIND: SMS DONE\r\n")
CLIENT_IDS = range(12)
SSL_CONTEXT_IDS = range(6)
PDP_CONTEXT_IDS = range(1, 17)


@dataclass
class PdpContext:
    """A PDP context (``AT+QICSGP`` / ``AT+QIACT``, TCP/IP AT manual)."""

    context_id: int
    context_type: int = 1
    apn: str = ""
    username: str = ""
    password: str = ""
    auth: int = 0
    active: bool = False
    primary_dns: str = "8.8.8.8"
    secondary_dns: str = "8.8.4.4"

    @property
    def address(self) -> str:
        return f"10.7.157.{self.context_id}"


class Module:
    """The module's state for one power-on; ``run`` is its life."""

    def __init__(
        self, config: EmulatorConfig, line: HostLine, files: FileStore,
        faults: FaultState, restart: Callable[[], None],
    ) -> None:
        self.config = config
        self.line = line
        self.files = files
        self.faults = faults
        self.restart = restart
        self.clock = ModuleClock(config.clock_start)
        self.echo = True
        self.cmee = 1
        self.registration_urc = {"+CREG": 0, "+CGREG": 0, "+CEREG": 0}
        self.pdp = {i: PdpContext(i) for i in PDP_CONTEXT_IDS}
        self.pdp[1].active = config.auto_pdp
        self.ssl_contexts = {i: SslContextConfig() for i in SSL_CONTEXT_IDS}
        self.sockets: dict[int, SslSocket] = {}
        self.last_error = 0
        self.last_transparent: int | None = None
        self.booted = trio.Event()
        self._nursery: trio.Nursery | None = None

    async def run(self) -> None:
        from .at_commands import CommandProcessor

        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            with trio.move_on_after(self.config.boot_time):
                await self.line.drop_input_forever()  # nothing answered while booting
            await self.line.write(b"\r\nRDY\r\n")
            nursery.start_soon(self.line.run_urc_writer)
            nursery.start_soon(CommandProcessor(self).run)
            await trio.sleep(self.config.boot_urc_delay)
            for urc in BOOT_URCS:
                self.line.post_urc(urc)
            self.booted.set()

    # -- sockets -------------------------------------------------------------

    def add_socket(self, sock: SslSocket) -> None:
        self.sockets[sock.client_id] = sock

    def start_socket(self, sock: SslSocket) -> None:
        assert self._nursery is not None
        self._nursery.start_soon(sock.run)

    def forget_socket(self, sock: SslSocket) -> None:
        if self.sockets.get(sock.client_id) is sock:
            del self.sockets[sock.client_id]

    async def close_socket(self, sock: SslSocket, close_timeout: float) -> None:
        """Close (close_notify bounded by ``close_timeout``) and free the id."""
        sock.request_close(close_timeout)
        await sock.finished.wait()
        self.forget_socket(sock)

    # -- faults --------------------------------------------------------------

    async def apply_fault(self, fault: Fault) -> None:
        kind = fault.kind
        self.faults.history.append(fault)
        if kind == "peer_close":
            sock = self.sockets.get(fault.client_id)
            if sock is not None:
                sock.drop_connection()
        elif kind == "pdp_deact":
            ctx = self.pdp.get(fault.context_id)
            if ctx is not None and ctx.active:
                ctx.active = False
                self.line.post_urc(b'\r\n+QIURC: "pdpdeact",%d\r\n' % fault.context_id)
                for sock in list(self.sockets.values()):
                    if sock.pdp_id == fault.context_id:
                        sock.drop_connection()
        elif kind == "restart":
            self.restart()
        elif kind == "silence":
            self.line.silence(fault.seconds)
        elif kind == "noise":
            assert self._nursery is not None
            self._nursery.start_soon(self._noise, self.faults.noise_lines(fault.count))
        elif kind == "send_fail":
            self.faults.send_fails += fault.count
        elif kind == "slow_handshake":
            self.faults.slow_handshakes.extend([fault.seconds] * fault.count)
        else:
            raise ValueError(f"unknown fault {kind!r}")
        await trio.lowlevel.checkpoint()

    async def _noise(self, lines: list[tuple[float, bytes]]) -> None:
        for pause, noise in lines:
            await trio.sleep(pause)
            self.line.post_urc(noise)

    def random_fault(self) -> Fault:
        """A mild fault for ``random:RATE`` (drawn from the seeded generator)."""
        rng = self.faults.rng
        connected = sorted(
            cid for cid, s in self.sockets.items() if s.state == SocketState.CONNECTED
        )
        choices = [Fault.noise(rng.randint(1, 4)), Fault.send_fail(1)]
        if connected:
            choices.append(Fault.peer_close(rng.choice(connected)))
        return rng.choice(choices)
