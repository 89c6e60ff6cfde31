"""The soak's faults: what the module and the network do wrong, drawn from a seeded generator.

``FaultInjector`` injects one fault every ``gap`` seconds on average through
the emulator's fault API.  Line faults (``push_byte_loss``,
``push_header_loss``, ``urc_loss``) and a DLC's lag last until the next fault
is drawn.
``ADVERSE_FIRMWARE`` is the emulator's every legal but unhelpful order
(docs/reliability.md): the soak runs on it unless told otherwise, and the
seed decides the push frame style.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import trio

from proxy.service import ProxyService

from .clients import ClientResult

FAULT_KINDS = ("noise", "send_fail", "peer_close", "slow_handshake", "pdp_deact", "silence",
               "restart", "push_byte_loss", "push_header_loss", "urc_loss", "hold_pushes",
               "unanswered_close")
FAULT_WEIGHTS = (3, 3, 4, 2, 1, 1, 1, 1, 1, 1, 2, 1)
LINE_FAULTS = ("push_byte_loss", "push_header_loss", "urc_loss")
MUX_FAULTS = ("mux_fcs_errors", "mux_byte_loss", "mux_status_loss", "dlc_silent", "dlc_lag")
"""Drawn too when the proxy runs on the multiplexer (``--channels cmux``); a lag
lasts until the next fault, like the line faults."""
MUX_WEIGHTS = (2, 1, 1, 1, 1)

ADVERSE_FIRMWARE: dict[str, Any] = {
    "late_pushes_after_close": True,   # a closed socket's pushes come after the close's OK
    "pushes_after_switch": True,       # pushes still come after AT+QISWTMD=<id>,0's OK
    "keep_buffer_on_push": True,       # AT+QISWTMD=<id>,1 keeps the buffer, pushes only newer
    "empty_read_error": True,          # ERROR, not +QSSLRECV: 0, once closed and read
    "recv_max": 1499,                  # short reads although more is buffered
}


def firmware_options(seed: int, adverse: bool) -> dict[str, Any]:
    """The emulator options of a soak at ``seed``: BG96-style push frames
    (CR LF after the data) on even seeds, bare ones on odd seeds."""
    options: dict[str, Any] = dict(ADVERSE_FIRMWARE) if adverse else {}
    options["push_trailer"] = seed % 2 == 0
    return options


def channel_options(channels: str) -> dict[str, Any]:
    """The emulator options that match the proxy's ``--channels``: its usbmodem
    port for ``ports`` (and ``auto``, which picks the ports on the emulator's
    usbat); the multiplexer is always there.  On several channels the line has
    RTS/CTS, as the proxy's ``--rtscts`` says (a lent channel needs it): a
    silent module then holds the host's bytes instead of dropping them."""
    if channels == "single":
        return {}
    ports = {"extra_ports": ("usbmodem",)} if channels in ("ports", "auto") else {}
    return {"rtscts": True, **ports}


def transparent_use(kind: str, channels: str) -> str:
    """The ``transparent`` setting of the map to the ``kind`` server: on several
    channels the echo and sink maps take a transparent session at their first
    send (``always``), so connections switch modes all the time and a lent
    channel meets the faults; the source map keeps the default (``auto``)."""
    return "always" if channels != "single" and kind in ("echo", "sink") else "auto"


def _spec(spec: str) -> Any:
    """The fault a ``--fault`` spec names (the kinds with no constructor of their own)."""
    from modem.emulator import parse_fault_spec

    return parse_fault_spec(spec).fault


class FaultInjector:
    """Injects a random fault every ``gap`` seconds on average (seeded), counting
    each kind in ``faults``."""

    def __init__(self, service: ProxyService, live: dict[int, ClientResult],
                 faults: Counter[str], seed: int, gap: float, mux: bool = False) -> None:
        self.service = service
        self.kinds = FAULT_KINDS + (MUX_FAULTS if mux else ())
        self.weights = FAULT_WEIGHTS + (MUX_WEIGHTS if mux else ())
        self.live = live
        self.faults = faults
        self.rng = random.Random(seed)
        self.gap = gap
        self._lasting: str | None = None  # the spec that ends a fault lasting until the next

    async def run(self) -> None:
        rng = self.rng
        try:
            while True:
                await trio.sleep(rng.uniform(0.25 * self.gap, 1.75 * self.gap))
                await self._end_lasting()
                kind = rng.choices(self.kinds, self.weights)[0]
                fault = self._draw(kind)
                if fault is None:
                    continue
                await self._emulator().inject(fault)
                self.faults[kind] += 1
                if kind in LINE_FAULTS:
                    self._lasting = f"{kind}:0"
                elif kind == "dlc_lag":
                    self._lasting = f"dlc_lag:{fault.dlci},0"
        finally:
            # The load is over: a line that still loses bytes, or broken FCSs still
            # owed to the next frames, is no state to judge the end checks in.
            with trio.CancelScope(shield=True):
                await self._end_lasting()
                for owed in ("mux_fcs_errors", "mux_byte_loss", "mux_status_loss"):
                    if owed in self.kinds:
                        await self._emulator().inject(_spec(f"{owed}:0"))

    def _emulator(self) -> Any:
        emu = self.service.emulator
        assert emu is not None
        return emu

    async def _end_lasting(self) -> None:
        if self._lasting is not None:
            await self._emulator().inject(_spec(self._lasting))
            self._lasting = None

    def _draw(self, kind: str) -> Any:
        from modem.emulator import Fault

        rng = self.rng
        if kind == "noise":
            return Fault.noise(rng.randint(1, 20))
        if kind == "send_fail":
            return Fault.send_fail(rng.randint(5, 40))
        if kind == "slow_handshake":
            return Fault.slow_handshake(rng.uniform(2, 15), rng.randint(1, 3))
        if kind == "pdp_deact":
            return Fault.pdp_deact(1)
        if kind == "silence":
            return Fault.silence(rng.uniform(11, 20))  # AT+QSSLSEND allows 10 s
        if kind == "restart":
            return Fault.restart()
        if kind == "push_byte_loss":
            return _spec(f"push_byte_loss:{rng.uniform(0.02, 0.3):.3f}")
        if kind == "push_header_loss":
            name = ",name" if rng.random() < 0.5 else ""
            return _spec(f"push_header_loss:{rng.uniform(0.02, 0.3):.3f}{name}")
        if kind == "urc_loss":
            return Fault.urc_loss(rng.uniform(0.1, 0.5))
        if kind == "unanswered_close":
            return _spec("unanswered:+QSSLCLOSE,1")
        if kind == "mux_fcs_errors":  # 8 or more within 5 s end the module's life
            return _spec(f"mux_fcs_errors:{rng.randint(1, 12)}")
        if kind == "mux_byte_loss":  # a lost byte the FCS cannot show
            return _spec(f"mux_byte_loss:{rng.randint(1, 3)}")
        if kind == "mux_status_loss":  # the host's MSCs lost on the way
            return _spec(f"mux_status_loss:{rng.randint(1, 3)}")
        if kind == "dlc_silent":
            return _spec(f"dlc_silent:{rng.randint(1, 4)}")
        if kind == "dlc_lag":  # commands there run late, behind the other DLCs'
            return _spec(f"dlc_lag:{rng.randint(1, 4)},{rng.uniform(0.05, 0.5):.2f}")
        connected = self._connected()
        if not connected:
            return None
        cid = rng.choice(connected)
        if kind == "hold_pushes":
            return _spec(f"hold_pushes:{cid}")
        self._mark_peer_closed(cid)
        return Fault.peer_close(cid)

    def _connected(self) -> list[int]:
        from modem.emulator.ssl_sockets import SocketState

        emu = self.service.emulator
        assert emu is not None
        return sorted(cid for cid, s in emu.module.sockets.items()
                      if s.state == SocketState.CONNECTED)

    def _mark_peer_closed(self, cid: int) -> None:
        for record in list(self.service.registry.connections.values()):
            if record.client_id == cid:
                port = record.peer.rpartition(":")[2]
                result = self.live.get(int(port)) if port.isdigit() else None
                if result is not None:
                    result.peer_closed_by_fault = True
