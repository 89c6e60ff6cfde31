"""Which AT channels a module life runs on, and when it tries several again (sans-I/O).

``--channels`` is a ``ChannelMode``; each life of the module runs on one
``ChannelKind``:

* ``single``: the one port the proxy opened, as before channels existed;
* ``cmux``: after the first ``AT`` on that port, ``AT+CMUX`` and the DLCs
  of the 07.10 multiplexer on it (``modem.channels.mux_line``);
* ``ports``: the port opened and the module's other AT-capable USB port
  (``usbat`` and ``usbmodem``: USB interfaces 2 and 3 of EC2x / EG9x / EM05).

``plan_channels`` picks the kind for a life: ``auto`` is CMUX on a UART
(``uart1``), the ports on USB when the second port is known, else one
channel, with the reason.  A module that refuses (``ERROR`` to ``AT+CMUX``,
DM to the multiplexer's start, a port that does not answer) or that keeps
losing its multiplexer (or going silent at its start) is held on one
channel for a while
(``ChannelRetry``), so a refusing module is not asked again at every life.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["ChannelKind", "ChannelMode", "ChannelPlan", "ChannelRetry", "plan_channels"]

UART_PORT = "uart1"
USB_PORTS = ("usbat", "usbmodem")

REFUSAL_HOLD = 600.0
"""Seconds a refusal keeps the module on one channel; doubled at each refusal in a row."""
REFUSAL_HOLD_MAX = 6 * 3600.0
LOSS_STREAK = 3
"""Lives in a row that lose their channels (none serving ``STEADY`` s) count as a refusal."""
STEADY = 600.0


class ChannelMode(enum.StrEnum):
    """``--channels``: what the proxy asks for."""

    AUTO = "auto"
    """CMUX on a UART, the module's AT ports on USB; one channel when refused."""
    SINGLE = "single"
    """The port opened, and nothing else (the behaviour before channels)."""
    CMUX = "cmux"
    """The 07.10 multiplexer's DLCs on the port opened."""
    PORTS = "ports"
    """The port opened and the module's other USB AT port."""


class ChannelKind(enum.StrEnum):
    """What one life of the module runs on."""

    SINGLE = "single"
    CMUX = "cmux"
    PORTS = "ports"


@dataclass(frozen=True)
class ChannelPlan:
    """The kind a life tries, and ``reason`` when it is not the kind asked for."""

    kind: ChannelKind
    reason: str | None = None


def plan_channels(mode: ChannelMode, port_name: str | None, extra_ports: int,
                  held: str | None = None) -> ChannelPlan:
    """The kind for the next life.

    ``port_name``: what the module calls the port opened (``uart1``, ``usbat``,
    ``usbmodem``; None: unknown, e.g. a pty); ``extra_ports``: how many more
    AT ports the proxy found for it; ``held``: why ``ChannelRetry`` keeps the
    module on one channel now (None: it may try).
    """
    if mode is ChannelMode.SINGLE:
        return ChannelPlan(ChannelKind.SINGLE)
    if held is not None:
        return ChannelPlan(ChannelKind.SINGLE, held)
    if mode is ChannelMode.CMUX:
        return ChannelPlan(ChannelKind.CMUX)
    if mode is ChannelMode.PORTS or port_name in USB_PORTS:
        if extra_ports:
            return ChannelPlan(ChannelKind.PORTS)
        return ChannelPlan(ChannelKind.SINGLE, "the module's second USB AT port (usbmodem) "
                           "was not found")
    if port_name == UART_PORT:
        return ChannelPlan(ChannelKind.CMUX)
    return ChannelPlan(ChannelKind.SINGLE, "cannot tell whether the port is a UART or USB "
                       "(give --urc-port, or --channels cmux or ports)")


class ChannelRetry:
    """When a module that refused several channels, or kept losing them, is asked again.

    A refusal holds the module on one channel for ``REFUSAL_HOLD`` s, twice
    as long after each refusal in a row (at most ``REFUSAL_HOLD_MAX``); a
    life on several channels that served ``STEADY`` s forgets the streak.
    Losing the channels mid-life (the line under the multiplexer, DLC 0
    closed, a storm of bad frames) or at the start (no answer to it) is a
    module loss: the next life tries again at once, and ``LOSS_STREAK`` such
    lives in a row count as a refusal.  Times are the caller's clock (seconds).
    """

    def __init__(self) -> None:
        self.refusals = 0
        self.losses = 0
        self._until = 0.0
        self._reason: str | None = None

    def refused(self, now: float, reason: str) -> float:
        """The module refused; returns the seconds it is held on one channel."""
        self.refusals += 1
        self.losses = 0
        hold = min(REFUSAL_HOLD * 2.0 ** (self.refusals - 1), REFUSAL_HOLD_MAX)
        self._until = now + hold
        self._reason = reason
        return hold

    def lost(self, now: float, served_for: float) -> float | None:
        """A life on several channels lost them after ``served_for`` s; the hold
        when that makes a refusal (None: the next life tries again)."""
        if served_for >= STEADY:
            self.refusals = self.losses = 0
        self.losses += 1
        if self.losses < LOSS_STREAK:
            return None
        return self.refused(now, f"lost its channels in {LOSS_STREAK} lives in a row")

    def served(self, served_for: float) -> None:
        """A life on several channels ended for another reason after ``served_for`` s."""
        if served_for >= STEADY:
            self.refusals = self.losses = 0

    def held(self, now: float) -> str | None:
        """Why the module stays on one channel now (the refusal's words), or
        None when it may try."""
        if now >= self._until:
            return None
        return self._reason

    def retry_in(self, now: float) -> float:
        """Seconds until the module is asked again (0: it may be now)."""
        return max(0.0, self._until - now)
