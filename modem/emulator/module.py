"""One power-on lifetime of the emulated module: its state and its tasks.

A restart (``AT+CFUN=1,1`` or the ``restart`` fault) cancels the ``Module``
and the emulator builds a new one: echo on again, contexts and sockets gone,
``RAM:`` files lost; the ``FileStore``'s ``UFS:`` area, the ``SimCard``
and the ``PendingFaults`` are shared and survive.

The command handlers (``at_*.py``) and the faults (``faults.py``) act on a
``Module``; it knows neither of them: ``run`` is handed the command loop.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import trio

from .clock import ModuleClock, NetworkTime
from .config import EmulatorConfig
from .files import FileStore
from .line import HostLine
from .manual import PDP_CONTEXT_IDS, SSL_CONTEXT_IDS
from .pending_faults import PendingFaults
from .sim import SimCard
from .ssl_sockets import AccessMode, SslSocket
from .tls import SslContextConfig

SIM_URCS = (b"\r\n+QUSIM: 1\r\n", b"\r\n+QIND: SMS DONE\r\n")  # after +CPIN: <state>


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
        pending_faults: PendingFaults, restart: Callable[[], None],
        sim: SimCard | None = None,
    ) -> None:
        self.config = config
        self.sim = sim if sim is not None else SimCard(config)
        self.line = line
        self.files = files
        self.pending_faults = pending_faults
        self.restart = restart
        self.clock = ModuleClock(config.clock_start)
        self.network_time = NetworkTime(config.network_time_offset)
        self.ctzu = config.ctzu
        self.follow_network_time()
        self.echo = True
        self.cmee = 1
        self.registration_urc = {"+CREG": 0, "+CGREG": 0, "+CEREG": 0}
        self.unregistered_until = -math.inf  # Fault.deregister: searching until then
        self.pdp = {i: PdpContext(i) for i in PDP_CONTEXT_IDS}
        self.pdp[1].active = config.auto_pdp
        self.ssl_contexts = {i: SslContextConfig() for i in SSL_CONTEXT_IDS}
        self.sockets: dict[int, SslSocket] = {}
        # late_pushes_after_close: a closed push socket's leftover frames, by ID,
        # written right after the OK of the next AT+QSSLOPEN of that ID.
        self.late_pushes: dict[int, list[bytes]] = {}
        self.last_error = 0
        self.last_transparent: int | None = None
        self.booted = trio.Event()
        self._nursery: trio.Nursery | None = None

    async def run(self, command_loop: Callable[[], Awaitable[None]]) -> None:
        """Boot, then serve the host with ``command_loop`` until cancelled."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            with trio.move_on_after(self.config.boot_time):
                await self.line.drop_input_forever()  # nothing answered while booting
            if self.line.routing.reaches_host:  # RDY is a URC too (urc_port.py)
                await self.line.write(b"\r\n%s\r\n" % self.config.preset.boot_line)
            nursery.start_soon(self.line.run_urc_writer)
            self.sim.power_up()
            nursery.start_soon(command_loop)
            await trio.sleep(self.config.boot_urc_delay)
            if not self.sim.absent:
                await trio.sleep(self.sim.ready_delay)
                self.line.post_urc(b"\r\n+CPIN: %s\r\n" % self.sim.state.encode())
                for urc in SIM_URCS if self.sim.state == "READY" else ():
                    self.line.post_urc(urc)
            self.booted.set()

    def spawn(self, task: Callable[[], Awaitable[None]]) -> None:
        """Run ``task`` for the rest of this power-on (sockets, noise)."""
        assert self._nursery is not None, "the module is not running"
        self._nursery.start_soon(task)

    def follow_network_time(self) -> None:
        """With ``AT+CTZU=3`` the module sets its clock from the network's time."""
        network_now = self.network_time.now()
        if self.ctzu == 3 and network_now is not None:
            self.clock.set(network_now)

    # -- sockets -------------------------------------------------------------

    def add_socket(self, sock: SslSocket) -> None:
        self.sockets[sock.client_id] = sock

    def start_socket(self, sock: SslSocket) -> None:
        self.spawn(sock.run)

    def forget_socket(self, sock: SslSocket) -> None:
        if self.sockets.get(sock.client_id) is sock:
            del self.sockets[sock.client_id]

    async def close_socket(self, sock: SslSocket, close_timeout: float) -> None:
        """Close (close_notify bounded by ``close_timeout``) and free the id."""
        sock.request_close(close_timeout)
        await sock.finished.wait()
        self.forget_socket(sock)
        if self.config.late_pushes_after_close and sock.mode is AccessMode.PUSH:
            data = sock.leftover()
            frames = [sock.push_unit(data[i:i + 1500]) for i in range(0, len(data), 1500)]
            if frames:
                self.late_pushes[sock.client_id] = frames

    async def write_late_pushes(self, client_id: int) -> None:
        """``late_pushes_after_close``: the frames a closed socket of ``client_id``
        left, now (right after the next open's ``OK``)."""
        for frame in self.late_pushes.pop(client_id, []):
            await self.line.write(frame)
