"""Settings of one emulated module (``EmulatorConfig``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from .urc_port import FACTORY_URC_PORT, check_port_name

#: The clock a module without network time shows after power-up: the GPS epoch.
GPS_EPOCH = dt.datetime(1980, 1, 6, tzinfo=dt.UTC)

#: When the "recv" URC is re-armed (``EmulatorConfig.recv_urc_rearm``).
RECV_URC_REARM = ("drain", "empty")

#: The SIM the module plays (``EmulatorConfig.sim``).
SIM_STATES = ("ready", "absent")

#: Where URCs go under CMUX besides a DLC number (``EmulatorConfig.cmux_urcs``).
CMUX_URC_CHOICES = ("first", "all")


@dataclass(frozen=True)
class EmulatorConfig:
    """How the virtual EC2x behaves.

    ``baud``: line rate; 0 means unpaced, otherwise each direction carries
    ``baud / 10`` bytes per second (8N1).  ``latency_ms``: turnaround before
    the first response byte of each command, from the command's last byte
    on the line.  ``resolve``: host name ->
    address table consulted before DNS; ``real_dns`` allows the system
    resolver for other names (otherwise they fail with 565).  ``seed`` makes
    random faults and noise reproducible.  ``rx_buffer`` / ``tx_buffer``: per
    socket receive and send buffer sizes in bytes.  ``socket_buffer``: the
    kernel ``SO_RCVBUF`` / ``SO_SNDBUF`` of each TCP socket, small like a
    module's, so a server feels backpressure soon.  ``auto_pdp``: context 1
    is active at boot.  ``clock_start``: the module clock at boot (None: the
    GPS epoch 1980-01-06, wrong on purpose).  ``boot_time`` seconds from
    power-up to ``RDY``, then ``boot_urc_delay`` to the SIM URCs.
    ``escape_guard`` is the ``+++`` guard time (manual 1.3: 1 s).
    ``connect_timeout`` bounds the TCP connect (the manual's 150 s).
    ``network_time_offset``: the network's time (``AT+QLTS``) minus wall
    time in seconds; None: the network sends none (``+QLTS: ""``).
    ``ctzu``: ``AT+CTZU`` at boot; 3 makes the module clock follow the
    network's time by itself.
    ``faults`` are ``--fault`` specs (see ``faults.parse_fault_spec``).
    ``port_name``: the AT port the pty plays (``usbat``, ``usbmodem`` or
    ``uart1``); URCs reach it only while ``AT+QURCCFG="urcport"`` names it
    (factory default ``usbat``; see ``urc_port``).  ``absent_commands``
    (``"+QURCCFG"``...) answer ``ERROR`` in every form, as on older firmware.
    ``recv_urc_rearm``: when the next ``+QSSLURC: "recv"`` may come:
    ``"drain"`` once a read leaves the buffer empty (what Quectel's TCP/IP
    notes say of ``+QIURC: "recv"``), ``"empty"`` only after a read that
    returned 0 bytes (firmware the driver must detect).
    ``hostname_check``: the name of a server host-name check setting this
    firmware has beyond the manual (``"checkhost"`` on BG9x firmware):
    ``AT+QSSLCFG=?`` lists it, ``AT+QSSLCFG="<it>",<ctx>,1`` turns it on, and
    then an open fails (566) unless the server certificate names the host
    the open named.  None: the manual's firmware, which has no such check.
    ``sim``: ``"absent"`` plays a module without a SIM: ``AT+CPIN?`` answers
    ``+CME ERROR: 10`` (27.007 "SIM not inserted"; seen from modules in
    public logs), no SIM URCs at boot, registration stat 0.
    ``registration``: the stat ``AT+CREG?``/``AT+CGREG?``/``AT+CEREG?``
    report (1 home, 5 roaming, 2 searching, 3 denied, 0 not searching).
    ``extra_ports``: more AT ports of the same module, one pty each (the
    USB composition: ``("usbmodem",)`` beside the pty's ``usbat``), each
    paced on its own like a USB endpoint.
    ``cmux_dlcs``: under ``AT+CMUX``, the DLCs 1..n that open (each an AT
    port; SABM on others answers DM).  ``cmux_urcs``: which DLC gets the
    URCs: ``"first"`` (the lowest open DLC not in data mode; the default of
    Nordic's serial modem, a guess for Quectel), ``"all"`` (every open DLC),
    or a DLC number (none while it is closed).  ``cmux_hang_below_ms``:
    firmware that hangs for good (until a restart) when the first frame
    follows the ``OK`` of ``AT+CMUX`` by less than this (a BG95 at 100 ms,
    zephyr#63410); 0 never hangs.  ``cmux_pn``: whether PN (parameter
    negotiation) is answered; False answers NSC.
    """

    baud: int = 0
    latency_ms: float = 0.0
    resolve: dict[str, str] = field(default_factory=dict)
    real_dns: bool = True
    seed: int = 0
    rx_buffer: int = 64 * 1024
    tx_buffer: int = 16 * 1024
    socket_buffer: int | None = 32 * 1024
    auto_pdp: bool = False
    clock_start: dt.datetime | None = None
    boot_time: float = 0.05
    boot_urc_delay: float = 0.05
    escape_guard: float = 1.0
    connect_timeout: float = 150.0
    faults: tuple[str, ...] = ()
    network_time_offset: float | None = 0.0
    ctzu: int = 0
    port_name: str = FACTORY_URC_PORT
    absent_commands: frozenset[str] = frozenset()
    recv_urc_rearm: str = "drain"
    hostname_check: str | None = None
    sim: str = "ready"
    registration: int = 1
    extra_ports: tuple[str, ...] = ()
    cmux_dlcs: int = 4
    cmux_urcs: str = "first"
    cmux_hang_below_ms: float = 0.0
    cmux_pn: bool = True

    def __post_init__(self) -> None:
        check_port_name(self.port_name)
        for name in self.extra_ports:
            check_port_name(name)
        if len({self.port_name, *self.extra_ports}) != 1 + len(self.extra_ports):
            raise ValueError("every AT port needs a name of its own")
        if not 1 <= self.cmux_dlcs <= 63:
            raise ValueError(f"cmux_dlcs must be 1-63, not {self.cmux_dlcs}")
        if self.cmux_urcs not in CMUX_URC_CHOICES and not (
                self.cmux_urcs.isdigit() and 1 <= int(self.cmux_urcs) <= self.cmux_dlcs):
            raise ValueError(f"cmux_urcs must be first, all or a DLC 1-{self.cmux_dlcs}, "
                             f"not {self.cmux_urcs!r}")
        if self.sim not in SIM_STATES:
            raise ValueError(f"sim must be one of {', '.join(SIM_STATES)}, not {self.sim!r}")
        if self.registration not in range(6):
            raise ValueError(f"registration must be a stat 0-5, not {self.registration}")
        if self.recv_urc_rearm not in RECV_URC_REARM:
            raise ValueError(f"recv_urc_rearm must be one of {', '.join(RECV_URC_REARM)}, "
                             f"not {self.recv_urc_rearm!r}")

    @property
    def bytes_per_second(self) -> float:
        """Line rate in bytes per second (0: unpaced)."""
        return self.baud / 10 if self.baud else 0.0
