"""``ModemOptions``: how a ``Modem`` runs, each option declared once.

``Modem.open(open_stream, pdp=..., profiles=..., options=ModemOptions(...))``
takes one; the ``Modem`` keeps it and hands it to its ``Supervisor`` and its
sockets.  The defaults are the production values; tests scale them.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from modem.bringup.clock_sync import CLOCK_CHECK_INTERVAL, HostClock
from modem.bringup.sim import SIM_READY_WITHIN
from modem.channels import ExtraPort
from modem.core import commands
from modem.core.channel_plan import ChannelMode
from modem.core.families import Family
from modem.core.line_health import HealthTimes
from modem.core.mux import DEFAULT_N1
from modem.core.push_flow import DEFAULT_PUSH_LIMIT, AccessMode, PushInbox
from modem.core.sim_pin import SimPin
from modem.core.urc_watch import UrcPolling
from modem.link.line_speed import COMMON_SPEEDS
from modem.sockets.ssl_socket import SEND_STALL_TIMEOUT

__all__ = ["ModemOptions"]

MAX_N1 = 32768  # AT+CMUX's <N1> range (27.007 5.7)
MUX_START_DELAY_MIN = 0.1


@dataclass(frozen=True, kw_only=True)
class ModemOptions:
    """A ``Modem``'s options beyond the device, the PDP context and the profiles."""

    trace_at: bool = False
    """Log every AT command and response (``AtChannel``'s trace)."""
    trace_payload: bool = False
    """The AT trace shows a payload's first bytes, not only its length."""
    registration_timeout: float = 120.0
    """Seconds the bring-up waits for the network registration."""
    ready_timeout: float = 90.0
    """Seconds a caller waits for the first bring-up (``Supervisor.ready_channel``)."""
    command_timeout_cap: float = math.inf
    """Bounds every command's response time (see ``AtChannel``)."""
    send_stall_timeout: float = SEND_STALL_TIMEOUT
    """Seconds a chunk may wait for room in the module's send buffer before the
    send raises ``SendStalled`` (``SslSocket``)."""
    urc_port: str | None = None
    """The AT port ``open_stream`` opens (one of ``commands.URC_PORTS``):
    bring-up routes URCs there.  None leaves the module's setting as it is."""
    reopen_backoff_max: float = 10.0
    """The longest wait between two reopens of a missing device."""
    urc_polling: UrcPolling | None = None
    """How lost URCs are made up for (``modem.core.urc_watch``); None: its defaults."""
    line_baud: int | None = None
    """The serial line's rate, which sizes the certificate uploads' wait (None: unknown)."""
    sync_attempts: int = 30
    """``AT`` tries (0.3 s each) before bring-up says the module does not answer."""
    line_speed_auto: bool = False
    """When the module does not answer at the stream's speed, use the one of
    ``line_speeds`` it answers at (``modem.link.line_speed``); else say which."""
    line_speeds: tuple[int, ...] = COMMON_SPEEDS
    """The speeds tried when the module does not answer ``AT``."""
    host_clock: HostClock = time.time
    """The host time (seconds since the epoch) the module clock may be set from
    (``modem.core.clock_policy``)."""
    clock_check_interval: float = CLOCK_CHECK_INTERVAL
    """Seconds between two checks of the module clock against ``host_clock``."""
    access_mode: AccessMode = AccessMode.BUFFER
    """The mode sockets open in (manual 1.3)."""
    line_health: HealthTimes = HealthTimes()
    """When the module counts as silent, and how it is probed (``modem.link.health``)."""
    module_family: Family | None = None
    """The module's family (``modem.core.families``); None: from its ``ATI``."""
    sim_pin: SimPin | None = None
    """The SIM's PIN, entered once per power-up while no failed try is counted
    (``modem.core.sim_pin``); None: a SIM that wants one stops the bring-up."""
    sim_ready_timeout: float = SIM_READY_WITHIN
    """Seconds the SIM may take to answer ``AT+CPIN?`` after power-up or its PIN."""
    push_limit: int = DEFAULT_PUSH_LIMIT
    """Push mode: bytes pushed and not yet read after which a socket switches to
    buffer mode until its reader catches up (``modem.core.push_flow``: the
    contract and the memory bound)."""
    channels: ChannelMode = ChannelMode.SINGLE
    """The AT channels each life runs on (``modem.core.channel_plan``): the port
    opened only, the 07.10 multiplexer's DLCs on it, the module's USB AT ports
    (``extra_ports``), or auto: CMUX on a UART (``urc_port`` ``uart1``), the
    ports on USB; one channel whenever the module refuses."""
    extra_ports: tuple[ExtraPort, ...] = ()
    """The module's other AT ports (``usbmodem``) for ``ports`` (and ``auto`` on USB)."""
    mux_n1: int = DEFAULT_N1
    """Under CMUX: the most bytes in one frame (``AT+CMUX``'s N1)."""
    mux_start_delay: float = 0.5
    """Under CMUX: quiet time between ``AT+CMUX``'s OK and the first frame (at least
    0.1 s: zephyr#63410)."""
    flow_control: bool = False
    """The line has RTS/CTS flow control (``--rtscts``): bytes the module does not
    read wait, and are not lost.  A channel is lent for a transparent session only
    then: a module that stalls on a line without it drops our frames, and in
    transparent mode nothing shows the hole the server then gets."""

    def __post_init__(self) -> None:
        if self.urc_port is not None and self.urc_port not in commands.URC_PORTS:
            raise ValueError(f"urc_port must be one of {commands.URC_PORTS}, "
                             f"got {self.urc_port!r}")
        PushInbox(self.push_limit)  # checks the limit now, not at the first open
        if not 1 <= self.mux_n1 <= MAX_N1:
            raise ValueError(f"mux_n1 must be 1-{MAX_N1}, not {self.mux_n1}")
        if self.mux_start_delay < MUX_START_DELAY_MIN:
            raise ValueError(f"mux_start_delay must be at least {MUX_START_DELAY_MIN} s "
                             f"(zephyr#63410), not {self.mux_start_delay}")
