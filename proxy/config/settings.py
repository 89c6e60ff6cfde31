"""Every setting of ``ssl-proxy``, declared once: ``SETTINGS``.

Each row (``proxy.config.schema.Setting``) gives a setting's name (the flag's
long name and the TOML key), its kind (type, range or choices,
``proxy.config.kinds``), default, help, metavar, where it may appear (a
flag, the top of the file, ``[[map]]``, ``[[modem]]``, a doctor flag) and
whether a reload applies it.  From the rows come the flags
(``proxy.config.flags``), the TOML checks (``proxy.config.toml_file``), the
dataclass defaults (``proxy.config.model``), the values ``build_config`` and
the doctor read (``proxy.config.schema.read``), and the reference tables of
docs/configuration.md (``python -m proxy.config.reference``).
"""

from __future__ import annotations

import enum

from modem.core.channel_plan import ChannelMode
from modem.core.commands import DEFAULT_LINE_BAUD, UrcPort
from modem.core.families import Family
from modem.core.limits import ALL_CIPHER_SUITES, CLIENT_IDS
from modem.core.mux import DEFAULT_N1
from modem.core.push_flow import AccessMode
from modem.core.sim_pin import ENV_VAR as SIM_PIN_ENV
from modem.options import MAX_N1
from proxy.config.kinds import (
    Address,
    Apn,
    ApnCredential,
    Baud,
    Choice,
    Ciphers,
    ClientNetworks,
    ConsoleAddress,
    Count,
    DevicePath,
    InputFile,
    LinkPath,
    ModemName,
    ModemNames,
    Number,
    OnOff,
    Resolve,
    Structured,
)
from proxy.config.schema import Group, Place, Setting, SettingsTable
from proxy.connections.transparent_policy import TransparentUse
from proxy.logging_setup import LogFormat

MAX_CLIENT_IDS = CLIENT_IDS  # manual 2.1.2: <clientID> 0-11
TLS_VERSIONS = ("1.0", "1.1", "1.2", "all")  # manual 2.1.1, "sslversion"
APN_AUTH = {"none": 0, "pap": 1, "chap": 2, "pap-or-chap": 3}  # AT+QICSGP <authentication>
MAX_EMULATED = 16  # --emulate-modems at most


class UrcPortChoice(enum.StrEnum):
    """``--urc-port``: a port of ``UrcPort``, or AUTO: the one the device is
    (``proxy.modems.port_discovery.urc_port_for``)."""

    USBAT = UrcPort.USBAT
    USBMODEM = UrcPort.USBMODEM
    UART1 = UrcPort.UART1
    AUTO = "auto"


_BAUD = Baud(300, 4_000_000)
_URC_PORT = Choice.of(UrcPortChoice, "the AT port this proxy opens; auto finds it from the device")
_SECONDS = Number(0, whole=False, seconds=True)
_IDLE = Number(0, whole=False, seconds=True, note="(0 turns it off)")

_DOCTOR = Place.FLAG | Place.TOP | Place.DOCTOR
_PER_MAP = Place.FLAG | Place.TOP | Place.MAP

SETTINGS = SettingsTable((
    Setting("config", Structured("proxy.cli.parse_command_line", (), "", "FILE"),
            Group.SETTINGS_FILE, "the TOML file with these settings; flags override it",
            places=Place.FLAG | Place.DOCTOR),

    Setting("device", Structured("proxy.config.modems.build_modem_specs", (str,), "path",
                                 "PATH", repeated=True),
            Group.MODULE, "the module's AT port; repeat it for several modules",
            default_text="found by USB vendor 2c7c and interface 2", places=_DOCTOR),
    Setting("baud", _BAUD, Group.MODULE,
            "serial speed; USB AT ports ignore it, a UART needs the module's rate (auto: "
            "find the speed the module answers at, at every start)",
            DEFAULT_LINE_BAUD, _DOCTOR),
    Setting("rtscts", OnOff(), Group.MODULE,
            "RTS/CTS hardware flow control (a UART with the lines wired)", False, _DOCTOR),
    Setting("urc-port", _URC_PORT, Group.MODULE,
            "the module's name for the AT port opened: usbat, usbmodem or uart1; bring-up "
            "routes URCs there (auto: USB interface 2 is usbat, 3 usbmodem, a serial device "
            "that is not USB uart1)", UrcPortChoice.AUTO, _DOCTOR, metavar="PORT"),
    # push: faster on every benchmarked line (docs/benchmarks.md).
    Setting("access-mode", Choice.of(AccessMode, "how the module hands over received data"),
            Group.MODULE,
            "how the module hands over received data: buffer (read with AT+QSSLRECV) or "
            "push (sent unasked; a socket whose client lags switches to buffer until it "
            "catches up; client IDs 1, 10 and 11 always read in buffer mode)",
            AccessMode.PUSH, metavar="MODE"),
    Setting("channels", Choice.of(ChannelMode, "the AT channels the module is used on"),
            Group.MODULE,
            "the AT channels the proxy uses: single (the port opened), cmux (the 07.10 "
            "multiplexer's DLCs on it), ports (the module's usbat and usbmodem USB ports) "
            "or auto (cmux on a UART, ports on USB; one channel when the module refuses)",
            ChannelMode.SINGLE, _DOCTOR, metavar="KIND"),
    Setting("mux-n1", Number(1, MAX_N1, note="(AT+CMUX's <N1>)"), Group.MODULE,
            "under cmux: the most bytes in one multiplexer frame; larger frames spend less "
            "of the line on framing (6 bytes per frame) if the module takes them; lowered to "
            "the largest the module's AT+CMUX=? lists", DEFAULT_N1, _DOCTOR, metavar="BYTES"),
    Setting("module-family", Choice({"auto": None, **{f.value: f for f in Family
                                                      if f is not Family.UNKNOWN}},
                                     "the module's family"), Group.MODULE,
            "the module's family when its ATI does not tell: ec2x, bg96, bg95, ec200u or "
            "eg800k (docs/modules.md); it decides whether sockets may use push mode",
            None, _DOCTOR, metavar="FAMILY", default_text="auto: from the module's ATI"),
    Setting("sim-pin-file", InputFile(), Group.MODULE,
            f"a file holding the SIM's PIN (4-8 digits; or set {SIM_PIN_ENV}): entered once "
            "per power-up, and only while no wrong PIN is counted", places=_DOCTOR,
            default_text="none: a SIM that wants its PIN stops the start"),
    Setting("modem", Structured("proxy.config.modems.build_modem_specs", (list,),
                                "`[[modem]]` tables", tables=True),
            Group.MODULE, "one table per module (several modules behind one proxy)",
            places=Place.TOP, field="modems"),

    Setting("apn", Apn(), Group.NETWORK, "set this APN (AT+QICSGP)", None, _DOCTOR,
            default_text="the module's own context"),
    Setting("apn-user", ApnCredential(), Group.NETWORK, "APN user name", "", _DOCTOR,
            metavar="U"),
    Setting("apn-password", ApnCredential(), Group.NETWORK, "APN password (never logged)", "",
            _DOCTOR, metavar="P", secret=True),
    Setting("apn-auth", Choice(APN_AUTH), Group.NETWORK,
            "APN authentication: none, pap, chap or pap-or-chap", None, _DOCTOR,
            metavar="MODE", default_text="pap-or-chap with a user, else none"),
    Setting("pdp-context", Number(1, 16), Group.NETWORK, "PDP context id", 1, _DOCTOR),

    Setting("map", Structured("proxy.config.maps.build_maps", (list,), "`[[map]]` tables",
                              "[BIND:]LPORT=HOST:RPORT", repeated=True, tables=True),
            Group.MAPPINGS, "listen on BIND:LPORT (BIND default 127.0.0.1; [::1]:LPORT for "
            "IPv6) or on a Unix socket file (unix:PATH=HOST:RPORT, mode 0660) and forward "
            "over TLS to HOST:RPORT; repeatable; replaces the file's [[map]] tables",
            reloadable=True, field="maps"),

    Setting("cacert", InputFile(), Group.TLS, "CA certificates (PEM) that verify servers",
            places=_PER_MAP | Place.DOCTOR, default_text="the host's CA bundle",
            reloadable=True),
    Setting("clientcert", InputFile(), Group.TLS, "client certificate (PEM)", places=_PER_MAP,
            default_text="none", reloadable=True),
    Setting("clientkey", InputFile(), Group.TLS, "client key (PEM, unencrypted)",
            places=_PER_MAP, default_text="none", reloadable=True),
    Setting("tls-version", Choice({version: version for version in TLS_VERSIONS}), Group.TLS,
            "TLS version (the module has no TLS 1.3)", "1.2", _PER_MAP, reloadable=True,
            field="version"),
    Setting("ciphers", Ciphers(), Group.TLS,
            "cipher suite codes from the manual, e.g. 0xC02F,0x0035", (ALL_CIPHER_SUITES,),
            _PER_MAP, default_text="0xFFFF: all", reloadable=True),
    Setting("insecure", OnOff(), Group.TLS, "do not verify server certificates (seclevel 0)",
            False, _PER_MAP, reloadable=True),
    Setting("sni", OnOff(), Group.TLS, "send SNI for host names (always off for IP addresses)",
            True, _PER_MAP, reloadable=True),
    Setting("negotiate-timeout", Number(10, 300, seconds=True, note="(manual 2.1.1)"),
            Group.TLS, "TLS handshake limit", 300, _PER_MAP, reloadable=True),
    Setting("ignore-local-time", OnOff(), Group.TLS,
            "the module does not check certificate dates (ignorelocaltime 1); only when its "
            "clock cannot be set", False, _PER_MAP, reloadable=True),

    Setting("max-connections", Number(1, MAX_CLIENT_IDS, per_module=True), Group.LIMITS,
            "open module sockets at most", MAX_CLIENT_IDS,
            default_text=f"{MAX_CLIENT_IDS} per module"),
    Setting("queue-timeout", _SECONDS, Group.LIMITS,
            "how long a connection waits for a free socket", 30.0),
    Setting("queue-max", Number(0, 100_000), Group.LIMITS,
            "connections that may wait for a socket at most; past it a new one is reset at "
            "once", 64),
    Setting("half-close-timeout", _SECONDS, Group.LIMITS,
            "after a client shuts down its write side, how long the remote may stay quiet "
            "before the connection is reset", 30.0),
    Setting("grace", _SECONDS, Group.LIMITS,
            "on SIGINT/SIGTERM, how long open connections may finish", 5.0, reloadable=True),

    Setting("idle-reclaim", _IDLE, Group.IDLE,
            "while connections wait, close one idle this long with nothing in flight and "
            "give its socket to the longest waiter", 5.0, _PER_MAP, reloadable=True),
    Setting("idle-timeout", _IDLE, Group.IDLE,
            "close a connection idle this long with nothing in flight, waiters or not", 0.0,
            _PER_MAP, reloadable=True),
    Setting("idle-release", OnOff(), Group.IDLE,
            "an idle reclaim closes only the module socket: the client stays connected and "
            "its next request opens a new one (HTTP keep-alive)", False, _PER_MAP,
            reloadable=True),

    Setting("allow", ClientNetworks(), Group.ACCESS,
            "serve only clients from these addresses and networks (e.g. 10.0.0.0/8,"
            "192.168.1.7; repeatable); others are reset and counted. Not for unix: maps, "
            "whose socket file's permissions decide", None, _PER_MAP,
            default_text="every client", reloadable=True),

    Setting("status", Address(), Group.SERVICES,
            "serve a read-only HTTP status page (/ and /status.json) and /metrics",
            default_text="off"),
    Setting("at-console", ConsoleAddress(), Group.SERVICES,
            "serve a line-based AT command console: on a Unix socket of mode 0660 "
            "(unix:/run/ssl-proxy/at.sock, recommended) or on TCP (any local user may "
            "connect)",
            default_text="off"),
    Setting("at-pty", LinkPath(), Group.SERVICES,
            "serve the AT console on a pseudo-terminal linked at PATH, for minicom, picocom "
            "or a pyserial script", default_text="off"),

    Setting("verbose", Count(), Group.LOGGING, "log each connection's life (-vv: debug)", 0,
            short="-v"),
    Setting("trace-at", OnOff(), Group.LOGGING, "log the AT traffic (payloads as lengths only)",
            False),
    Setting("trace-payload", OnOff(), Group.LOGGING,
            "with --trace-at, also log the first bytes of each payload (user data: may hold "
            "credentials)", False),
    Setting("log-format", Choice.of(LogFormat), Group.LOGGING,
            "text: key=value lines; json: one object per line", LogFormat.TEXT),

    Setting("emulate", OnOff(), Group.EMULATOR, "run against the built-in module emulator",
            False, _DOCTOR),
    Setting("resolve", Resolve(), Group.EMULATOR,
            "the emulator's DNS: NAME resolves to IP; repeatable", (), _DOCTOR,
            default_text="none"),
    Setting("emulate-baud", Number(300, 100_000_000), Group.EMULATOR,
            "the emulated serial line's speed", default_text="unpaced"),
    Setting("emulate-latency-ms", Number(0, whole=False), Group.EMULATOR,
            "the emulator's added latency per command, in milliseconds", default_text="0"),
    Setting("emulate-modems", Number(1, MAX_EMULATED), Group.EMULATOR,
            "run N emulated modules (implies --emulate)", 1),

    Setting("listen", Structured("proxy.config.maps.build_maps", (str, int),
                                 'a port (`9000`), `"BIND:PORT"` (`"0.0.0.0:9000"`, '
                                 '`"[::1]:9000"`) or `"unix:PATH"`'),
            Group.MAP, "Where to listen. A bare port means 127.0.0.1; port 0 any free port; "
            "`unix:PATH` a Unix socket file of mode 0660 (the proxy's user and group).",
            places=Place.MAP, required=True, reloadable=True),
    Setting("connect", Structured("proxy.config.maps.build_maps", (str,), '`"HOST:PORT"`'),
            Group.MAP, "The remote TLS server.", places=Place.MAP, required=True,
            reloadable=True, field="remote"),
    Setting("max-connections",
            Number(1, MAX_CLIENT_IDS, note="(the module's sockets this map may hold at once)"),
            Group.MAP, "At most this many module sockets for this map, so one busy map cannot "
            "take every socket from the others. The top-level `max-connections` still bounds "
            "all maps together.", places=Place.MAP, default_text="no limit of its own",
            reloadable=True),
    Setting("modems", ModemNames(), Group.MAP, "The modules this map may use.", (), Place.MAP,
            default_text="all", reloadable=True),
    Setting("transparent", Choice.of(TransparentUse, "when a connection moves to a channel "
                                     "of its own"), Group.MAP,
            "When a connection's socket moves to an AT channel of its own in transparent "
            "mode (no command per chunk; docs/usage.md): `auto` once its client uploads "
            "faster than the line and a channel is free, `always` from its first send, "
            "`never`. Needs a module with a channel to spare.", TransparentUse.AUTO,
            Place.MAP, reloadable=True),

    Setting("name", ModemName(), Group.MODEM,
            "How the status page, the logs (`modem=`) and a map's `modems` name it.",
            places=Place.MODEM, default_text="`modem1`, `modem2`..."),
    Setting("device", DevicePath(), Group.MODEM,
            "Its AT port; a `/dev/serial/by-path/...` path (or a by-id one, when the "
            "modules' USB serial numbers differ) tells two modules apart across re-plugging.",
            places=Place.MODEM,
            default_text="required with two tables or more"),
    Setting("baud", _BAUD, Group.MODEM, "Its serial speed.", places=Place.MODEM,
            inherits=True),
    Setting("apn", Apn(), Group.MODEM, "Its APN (one carrier per module). `apn-user`, "
            "`apn-password`, `apn-auth` and `pdp-context` are shared.", places=Place.MODEM,
            inherits=True),
    Setting("urc-port", _URC_PORT, Group.MODEM, "Its AT port's name for URC routing.",
            places=Place.MODEM, inherits=True),
    Setting("at-console", Address(), Group.MODEM,
            "An AT console for this module. The top-level `at-console` serves the first "
            "module.", places=Place.MODEM, default_text="off"),
))
"""The table, in ``--help`` order; a name appears twice only with different places."""
