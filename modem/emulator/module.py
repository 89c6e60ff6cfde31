"""One power-on lifetime of the emulated module: its state and its tasks.

A restart (``AT+CFUN=1,1`` or the ``restart`` fault) cancels the ``Module``
and the emulator builds a new one: echo on again, contexts and sockets gone,
``RAM:`` files lost; the ``FileStore``'s ``UFS:`` area, the ``SimCard``, the
URC routing and the ``PendingFaults`` are shared and survive.

The module serves one ``AtPort`` per line it has (the pty, and one more per
extra USB port), and one per DLC while a port runs ``AT+CMUX``.  Every port
shares the module's state; ``processor`` lets one command at a time take
its turnaround, module-wide (one AT engine behind every port).  URCs go to
the ports ``AT+QURCCFG="urcport"`` names (``urc_ports``); under CMUX, to
one DLC or every DLC (``EmulatorConfig.cmux_urcs``).  Push frames pass
through the line faults (``push_mangle``, ``held_ids``) on their way there.

The command handlers (``at_*.py``) and the faults (``faults.py``) act on a
``Module``; it knows neither of them: ``run`` is handed the command loop.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import trio

from .at_port import AtPort
from .clock import ModuleClock, NetworkTime
from .config import EmulatorConfig
from .files import FileStore
from .line import HostLine
from .manual import PDP_CONTEXT_IDS, SSL_CONTEXT_IDS
from .pending_faults import PendingFaults
from .sim import SimCard
from .ssl_sockets import AccessMode, SslSocket
from .tls import SslContextConfig
from .urc_port import UrcRouting

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
        pending_faults: PendingFaults, restart: Callable[[], None], *,
        sim: SimCard | None = None, routing: UrcRouting | None = None,
        other_lines: Sequence[tuple[str, HostLine]] = (),
    ) -> None:
        self.config = config
        self.sim = sim if sim is not None else SimCard(config)
        self.line = line  # the first port's line: the pty the host opens
        self.routing = routing or UrcRouting()
        self.lines = [line, *(other for _, other in other_lines)]
        self._boot_ports = [AtPort(config.port_name, line),
                            *(AtPort(name, other) for name, other in other_lines)]
        self.ports: list[AtPort] = []  # serving now
        self.processor = trio.Lock()
        self.hung = False  # deadlocked (cmux_hang_below_ms): only a restart helps
        self.unanswered_starts = config.cmux_unanswered_starts  # left to ignore
        #: Changes a push frame's bytes on the line (line_faults.PushByteLoss); None: intact.
        self.push_mangle: Callable[[bytes], bytes] | None = None
        #: Client IDs whose push frames (and "closed") wait for the next command's
        #: answer (faults.HoldPushes): that answer then overtakes them.
        self.held_ids: set[int] = set()
        self._held: list[tuple[bytes, trio.Event]] = []
        self.files = files
        self.pending_faults = pending_faults
        self.restart = restart
        self.clock = ModuleClock(config.clock_start)
        self.network_time = NetworkTime(config.network_time_offset)
        self.ctzu = config.ctzu
        self.follow_network_time()
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
        self.booted = trio.Event()
        self._nursery: trio.Nursery | None = None
        self._command_loop: Callable[[AtPort], Awaitable[None]] | None = None

    async def run(self, command_loop: Callable[[AtPort], Awaitable[None]]) -> None:
        """Boot, then serve every port with ``command_loop(port)`` until cancelled."""
        self._command_loop = command_loop
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            with trio.move_on_after(self.config.boot_time):
                async with trio.open_nursery() as booting:  # nothing answered while booting
                    for line in self.lines:
                        booting.start_soon(line.drop_input_forever)
            self.sim.power_up()
            for port in self._boot_ports:
                if port.name == self.routing.urc_port:  # RDY is a URC too (urc_port.py)
                    await port.line.write(b"\r\n%s\r\n" % self.config.preset.boot_line)
                nursery.start_soon(self.serve, port)
            await trio.sleep(self.config.boot_urc_delay)
            if not self.sim.absent:
                await trio.sleep(self.sim.ready_delay)
                self.post_urc(b"\r\n+CPIN: %s\r\n" % self.sim.state.encode())
                for urc in SIM_URCS if self.sim.state == "READY" else ():
                    self.post_urc(urc)
            self.booted.set()

    async def serve(self, port: AtPort,
                    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve AT commands and URCs on ``port`` until cancelled (a DLC's end);
        started once the port takes URCs."""
        assert self._command_loop is not None, "the module is not running"
        port.line.on_answer = self.release_held
        self.ports.append(port)
        task_status.started()
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(port.line.run_urc_writer)
                await self._command_loop(port)
        finally:
            self.ports.remove(port)

    def silence(self, seconds: float) -> None:
        """Every line answers nothing and drops its input for ``seconds``; so does
        every DLC's, which holds its sockets' data like any line (the multiplexer's
        own line would drop it as frames: a hole no host can see)."""
        for line in self.lines:
            line.silence(seconds)
        for port in self.ports:
            if port.dlci is not None:
                port.line.silence(seconds)

    # -- URCs ----------------------------------------------------------------

    def urc_ports(self) -> list[AtPort]:
        """The ports a URC goes to now: those named by ``AT+QURCCFG``, and of
        the DLCs among them the ones ``cmux_urcs`` picks (a port whose line
        carries the multiplexer itself takes none)."""
        named = [p for p in self.ports if p.name == self.routing.urc_port and not p.muxed]
        dlcs = sorted((p for p in named if p.dlci is not None), key=lambda p: p.dlci or 0)
        choice = self.config.cmux_urcs
        if choice == "first":
            idle = [p for p in dlcs if not p.data_mode]
            dlcs = (idle or dlcs)[:1]
        elif choice != "all":
            dlcs = [p for p in dlcs if p.dlci == int(choice)]
        return [p for p in named if p.dlci is None] + dlcs

    def post_urc(self, data: bytes, done: trio.Event | None = None) -> trio.Event:
        """Queue a URC on the ports it goes to; the event (``done``, or a new one)
        is set once every one has written it (at once when none takes it:
        another port's, or lost)."""
        done = trio.Event() if done is None else done
        ports = self.urc_ports() if self.routing.keeps(data) else []
        left = len(ports)
        if not left:
            done.set()

        def written() -> None:
            nonlocal left
            left -= 1
            if not left:
                done.set()

        for port in ports:
            port.line.post_urc(data, written)
        return done

    def post_push(self, client_id: int, unit: bytes) -> trio.Event:
        """Queue a push frame (``post_urc``), through the push faults: mangled on
        the line, or held back until the next answer is written."""
        if self.push_mangle is not None:
            unit = self.push_mangle(unit)
        return self.post_after_pushes(client_id, unit)

    def post_after_pushes(self, client_id: int, unit: bytes) -> trio.Event:
        """Queue a socket's URC behind its push frames, also held ones: a module
        writes its URCs in order (docs/reliability.md, guess 1)."""
        if client_id in self.held_ids:
            done = trio.Event()
            self._held.append((unit, done))
            return done
        return self.post_urc(unit)

    @property
    def held_count(self) -> int:
        """Push frames held back for the next answer (``faults.HoldPushes``)."""
        return len(self._held)

    def release_held(self) -> None:
        """An answer was written: the push frames held for it follow now."""
        if not self._held:
            return
        self.held_ids.clear()
        held, self._held = self._held, []
        for unit, done in held:
            self.post_urc(unit, done)

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
            for port in self.urc_ports():
                await port.line.write(frame)
