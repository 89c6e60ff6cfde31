"""``Emulator``: a virtual Quectel EC2x behind a pseudo-terminal, run in a nursery.

    async with Emulator.running(EmulatorConfig(resolve={"api.example.com": "127.0.0.1"})) as emu:
        port = serial.Serial(emu.device, exclusive=True)   # or the project's serial stream
        ...
        await emu.inject(Fault.peer_close(client_id=3))

The emulator owns its nursery: the module's tasks (command processor, URC
writer, one runner per socket) and scheduled faults live there and are
cancelled on exit, which closes every TLS socket and the pty.

With ``extra_ports`` one module sits behind several ptys (``devices``: port
name -> path), as an EC2x's USB AT and modem ports do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import trio

from .at_commands import CommandProcessor
from .config import EmulatorConfig
from .fault_spec import FaultPlan, parse_fault_spec
from .faults import Fault, FaultState, inject
from .files import FileStore
from .line import HostLine
from .module import Module
from .pty_port import PtyPort
from .sim import SimCard
from .uart import UartLine
from .urc_port import UrcRouting


class Emulator:
    """A running emulated module; build it with ``Emulator.running(config)``."""

    def __init__(
        self, config: EmulatorConfig, ptys: dict[str, PtyPort],
        trace: Callable[[str, bytes], None] | None = None,
    ) -> None:
        self.config = config
        self._ptys = ptys
        main = ptys[config.port_name].stream
        stream: trio.abc.Stream = main
        if config.uart:  # the main port is a UART at config.baud
            stream = UartLine(main, main.fileno(), config.baud)
        self.line = HostLine(stream, config.bytes_per_second, trace)
        self.line.holds_input = config.rtscts
        self._other_lines = [
            (name, HostLine(ptys[name].stream, config.bytes_per_second,
                            _named_trace(trace, name)))
            for name in config.extra_ports]
        self.routing = UrcRouting()  # outlives a restart, like the module's NVM
        self.files = FileStore()
        self.sim = SimCard(config)
        self.faults = FaultState(config.seed)
        self.restarts = 0
        self._module_scope = trio.CancelScope()
        self.module = self._new_module()

    @classmethod
    @asynccontextmanager
    async def running(
        cls, config: EmulatorConfig | None = None,
        trace: Callable[[str, bytes], None] | None = None,
    ) -> AsyncIterator[Emulator]:
        """Run an emulator until the block exits.

        ``trace(direction, data)`` sees every byte on the line
        (``"host->module"`` / ``"module->host"``).
        """
        config = config or EmulatorConfig()
        plans = [parse_fault_spec(spec) for spec in config.faults]
        ptys = {name: PtyPort() for name in (config.port_name, *config.extra_ports)}
        try:
            emu = cls(config, ptys, trace)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(emu._supervise)
                for plan in plans:
                    nursery.start_soon(emu._scheduled, plan)
                try:
                    yield emu
                finally:
                    nursery.cancel_scope.cancel()
        finally:
            for pty in ptys.values():
                await pty.aclose()

    @property
    def device(self) -> str:
        """Path of the pty slave: what the host opens."""
        return self._ptys[self.config.port_name].device

    @property
    def devices(self) -> dict[str, str]:
        """Every AT port's pty by port name (``port_name`` and ``extra_ports``)."""
        return {name: pty.device for name, pty in self._ptys.items()}

    # -- control ---------------------------------------------------------------

    async def inject(self, fault: Fault) -> None:
        """Apply a fault to the running module now."""
        await inject(self.module, self.faults, fault)

    async def wait_booted(self) -> None:
        """Until the current module has posted its boot URCs."""
        await self.module.booted.wait()

    def restart(self) -> None:
        """Reboot the module (as ``AT+CFUN=1,1`` does)."""
        self._module_scope.cancel()

    @property
    def urc_port(self) -> str:
        """The module's ``AT+QURCCFG="urcport"`` setting (kept across restarts)."""
        return self.routing.urc_port

    @property
    def clock_offset(self) -> dt.timedelta:
        """Module clock minus wall clock."""
        return self.module.clock.offset

    def set_clock(self, when: dt.datetime) -> None:
        """Set the module clock (as ``AT+CCLK`` does), e.g. to the real time."""
        self.module.clock.set(when)

    # -- tasks -----------------------------------------------------------------

    def _new_module(self) -> Module:
        return Module(self.config, self.line, self.files, self.faults.pending, self.restart,
                      sim=self.sim, routing=self.routing, other_lines=self._other_lines)

    async def _supervise(self) -> None:
        while True:
            with self._module_scope:
                await self.module.run(CommandProcessor(self.module, self.faults).run)
                await trio.sleep_forever()
            self.restarts += 1
            self.files.lose_ram()
            for line in self.module.lines:
                line.clear_urcs()
                line.discard_input()
                if self.module.hung:
                    line.wake()  # a power cycle is what ends a hang
            self._module_scope = trio.CancelScope()
            self.module = self._new_module()

    async def _scheduled(self, plan: FaultPlan) -> None:
        if plan.random_rate:
            self.faults.random_rate = plan.random_rate
            return
        await trio.sleep(plan.at)
        assert plan.fault is not None
        await self.inject(plan.fault)


def _named_trace(trace: Callable[[str, bytes], None] | None,
                 name: str) -> Callable[[str, bytes], None] | None:
    """An extra port's trace: its direction names carry the port's name."""
    if trace is None:
        return None
    return lambda direction, data: trace(f"{name} {direction}", data)
