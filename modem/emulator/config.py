"""Settings of one emulated module (``EmulatorConfig``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from .models import MODELS, ModelPreset
from .urc_port import FACTORY_URC_PORT, check_port_name

#: The clock a module without network time shows after power-up: the GPS epoch.
GPS_EPOCH = dt.datetime(1980, 1, 6, tzinfo=dt.UTC)

#: When the "recv" URC is re-armed (``EmulatorConfig.recv_urc_rearm``).
RECV_URC_REARM = ("drain", "empty")

#: The SIM the module plays (``EmulatorConfig.sim``).
SIM_STATES = ("ready", "absent", "puk")

#: What ``AT+QSSLOPEN`` does with access mode 1 (``EmulatorConfig.open_push``).
OPEN_PUSH = ("honour", "buffer", "refuse")

#: Where URCs go under CMUX besides a DLC number (``EmulatorConfig.cmux_urcs``).
CMUX_URC_CHOICES = ("first", "all")


@dataclass(frozen=True)
class EmulatorConfig:
    """How the virtual EC2x behaves.

    ``baud``: line rate; 0 means unpaced, otherwise each direction carries
    ``baud / 10`` bytes per second (8N1).  ``uart``: the line is a UART at
    ``baud`` (a module whose ``AT+IPR`` keeps it): a host whose port is set
    to another speed sends and reads garbage (``uart``); a USB port (the
    default) ignores the speed.  ``latency_ms``: turnaround before
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
    ``"puk"`` a SIM locked behind its PUK.  ``sim_pin``: the PIN the SIM wants
    after every power-up (None: no PIN lock); ``sim_pin_tries``: its PIN tries
    left at start (0-3; 0 is the PUK lock); ``sim_ready_delay``: seconds after
    power-up during which the SIM is busy (``+CME ERROR: 14``); see ``sim``.
    ``registration``: the stat ``AT+CREG?``/``AT+CGREG?``/``AT+CEREG?``
    report (1 home, 5 roaming, 2 searching, 3 denied, 0 not searching).

    Orders and answers real firmware may choose, each an adverse case the
    driver must survive (docs/reliability.md):
    ``push_trailer``: a push frame's data is followed by CR LF (as BG96
    firmware writes it, per FreeRTOS's BG96 driver); False: the manual's
    format, nothing after the data.  ``pushes_after_switch``:
    ``AT+QISWTMD=<id>,0`` is answered before the pushes already queued for
    that socket.  ``late_pushes_after_close``: what a push-mode socket still
    held when it was closed goes out as push frames right after the ``OK``
    of the next ``AT+QSSLOPEN`` of its ID.  ``keep_buffer_on_push``:
    ``AT+QISWTMD=<id>,1`` keeps what the buffer holds (announced with
    ``+QSSLURC: "recv",<id>``, readable with ``AT+QSSLRECV`` in push mode)
    and pushes only newer data (``kept_read_error``: and refuses to hand
    it over, ``ERROR``).  ``switch_when_closed``: ``AT+QISWTMD=<id>,0`` is
    taken for a socket the peer closed while it is still listed (its data
    then read with ``AT+QSSLRECV``); by default it answers ``ERROR`` like
    every command on a socket no longer connected (which real firmware does
    is not known).  ``closed_read_error``: once the peer
    closed, ``AT+QSSLRECV`` answers ``ERROR``, data left or not (what is
    left is lost); ``empty_read_error``: only once nothing is left (in
    place of ``+QSSLRECV: 0``).
    ``recv_max``: at most this many bytes per ``AT+QSSLRECV`` answer,
    whatever was asked (0: as asked).
    Transparent mode (manual 1.3; ``transparent``): ``output_during_escape``:
    socket data still goes to the host after the ``+++`` until the ``OK``
    (the adverse order, and the default: nothing in the manual stops it);
    False holds it in the buffer from the third plus sign on.
    ``escape_no_carrier``: the escape is answered with ``NO CARRIER`` rather
    than ``OK``, the socket staying open in buffer mode (a SIMCom module on a
    CMUX DLC did so, espressif/esp-protocols#692; no Quectel report seen).
    ``no_carrier_with_data``: a peer close ends the session with ``NO CARRIER``
    at once, the data not yet written left in the buffer for ``AT+QSSLRECV``.
    ``transparent_refused``: ports whose ``AT+QSSLOPEN ...,2``,
    ``AT+QISWTMD=<id>,2`` and ``ATO`` answer ``ERROR`` (QIGETERROR 555): port
    names, and ``"dlc"`` for every DLC of the multiplexer (Quectel's EC20
    TCP/IP manual: the USB AT port does not support transparent mode).
    ``open_push``: what ``AT+QSSLOPEN``
    does with ``<access_mode>`` 1: ``"honour"`` (push mode), ``"buffer"``
    (answers ``OK`` and keeps the socket in buffer mode: ``AT+QSSLSTATE``
    shows 0, data is announced with ``"recv",<id>``), ``"refuse"`` (``ERROR``,
    ``AT+QIGETERROR`` 552; mode 0 is taken).
    ``model``: the family played (``models.MODELS``: ``ec25``, ``eg25-g``,
    ``bg96``, ``bg95``, ``ec200u``, ``eg800k``): its ``ATI`` identity, boot
    line, ``AT+QSSLCFG=?`` answer, host-name check and absent commands
    (``hostname_check`` and ``absent_commands`` given here add to it).
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
    negotiation) is answered; False answers NSC.  ``cmux_n1_max``: the
    largest N1 ``AT+CMUX`` takes and its test form lists.
    ``rtscts``: the main port's line has RTS/CTS: while the module is silent the
    host's bytes wait instead of being dropped.
    ``cmux_mute_dlcs``: DLCs that open but answer nothing, not being AT ports
    (firmware that keeps one for GNSS NMEA output).
    ``cmux_unanswered_starts``: the first n multiplexer starts get no UA (the
    SABM on DLC 0 is ignored, the close-down taken): a module that went silent
    right after ``AT+CMUX``'s ``OK``.  ``cmux_msc_retries``: how often the module
    sends its MSC command again when the host's response does not come within
    T2 (27.010 5.7: 0.3 s, N2 3 by default); 0 sends each once (a lost FC-off
    then leaves the host's DLC stopped: what a module without retransmission does).
    """

    baud: int = 0
    uart: bool = False
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
    sim_pin: str | None = None
    sim_pin_tries: int = 3
    sim_ready_delay: float = 0.0
    registration: int = 1
    push_trailer: bool = True
    pushes_after_switch: bool = False
    late_pushes_after_close: bool = False
    keep_buffer_on_push: bool = False
    switch_when_closed: bool = False
    kept_read_error: bool = False
    closed_read_error: bool = False
    empty_read_error: bool = False
    recv_max: int = 0
    open_push: str = "honour"
    model: str = "ec25"
    extra_ports: tuple[str, ...] = ()
    cmux_dlcs: int = 4
    cmux_urcs: str = "first"
    cmux_hang_below_ms: float = 0.0
    cmux_pn: bool = True
    cmux_n1_max: int = 32768
    cmux_unanswered_starts: int = 0
    cmux_mute_dlcs: tuple[int, ...] = ()
    cmux_msc_retries: int = 3
    rtscts: bool = False
    output_during_escape: bool = True
    no_carrier_with_data: bool = False
    escape_no_carrier: bool = False
    transparent_refused: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_port_name(self.port_name)
        for name in self.extra_ports:
            check_port_name(name)
        if len({self.port_name, *self.extra_ports}) != 1 + len(self.extra_ports):
            raise ValueError("every AT port needs a name of its own")
        if not 1 <= self.cmux_n1_max <= 32768:
            raise ValueError(f"cmux_n1_max must be 1-32768, not {self.cmux_n1_max}")
        if not 1 <= self.cmux_dlcs <= 63:
            raise ValueError(f"cmux_dlcs must be 1-63, not {self.cmux_dlcs}")
        if self.cmux_urcs not in CMUX_URC_CHOICES and not (
                self.cmux_urcs.isdigit() and 1 <= int(self.cmux_urcs) <= self.cmux_dlcs):
            raise ValueError(f"cmux_urcs must be first, all or a DLC 1-{self.cmux_dlcs}, "
                             f"not {self.cmux_urcs!r}")
        for name in self.transparent_refused:
            if name != "dlc":
                check_port_name(name)
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {', '.join(MODELS)}, not {self.model!r}")
        preset = MODELS[self.model]
        if self.hostname_check is None and preset.hostname_check is not None:
            object.__setattr__(self, "hostname_check", preset.hostname_check)
        object.__setattr__(self, "absent_commands", self.absent_commands | preset.absent_commands)
        if self.uart and not self.baud:
            raise ValueError("a UART line needs its speed: give baud")
        if self.sim not in SIM_STATES:
            raise ValueError(f"sim must be one of {', '.join(SIM_STATES)}, not {self.sim!r}")
        if self.sim_pin_tries not in range(4):
            raise ValueError(f"sim_pin_tries must be 0-3, not {self.sim_pin_tries}")
        pin = self.sim_pin
        if pin is not None and not (pin.isdigit() and 4 <= len(pin) <= 8):
            raise ValueError("sim_pin must be 4 to 8 digits")
        if self.registration not in range(6):
            raise ValueError(f"registration must be a stat 0-5, not {self.registration}")
        if self.open_push not in OPEN_PUSH:
            raise ValueError(f"open_push must be one of {', '.join(OPEN_PUSH)}, "
                             f"not {self.open_push!r}")
        if self.recv_urc_rearm not in RECV_URC_REARM:
            raise ValueError(f"recv_urc_rearm must be one of {', '.join(RECV_URC_REARM)}, "
                             f"not {self.recv_urc_rearm!r}")

    @property
    def preset(self) -> ModelPreset:
        """The family played (``model``)."""
        return MODELS[self.model]

    @property
    def bytes_per_second(self) -> float:
        """Line rate in bytes per second (0: unpaced)."""
        return self.baud / 10 if self.baud else 0.0
