"""Golden AT transcripts: what the host sends, what the module answers, the events.

Each ``Transcript`` is a short exchange as real EC2x/EG9x firmware frames it
(docs/emulator.md "What it models"; manual chapter 3 for the examples):
results are ``\\r\\nOK\\r\\n``, information responses ``\\r\\n<line>\\r\\n\\r\\nOK\\r\\n``,
the send prompt ``\\r\\n> ``, read replies
``\\r\\n+QSSLRECV: <n>\\r\\n<n bytes>\\r\\n\\r\\nOK\\r\\n``, echo ``AT\\r\\r\\nOK\\r\\n``.

A transcript is a sequence of steps:

* ``Send(command)``: the host sends a ``Command`` (``AtConnection.send_command``);
* ``Receive(data)``: the module writes ``data``;
* ``Write(data)``: the host writes a payload after ``Prompt`` or QFUPL's
  ``CONNECT`` (``AtConnection.send_payload``);
* ``Escape()``: the host leaves transparent mode (``AtConnection.leave_transparent``).

``events`` is everything ``AtConnection`` reports over the whole exchange,
in order.  The commands are built by hand (``modem.core.commands`` is not used),
so a transcript also says which ``Command`` fields each response needs.

The data is meant for reuse: ``play`` drives an ``AtConnection`` through a
transcript (optionally feeding each ``Receive`` in pieces), and an emulator
test can replay the ``Send``/``Write`` steps and compare with the
``Receive`` ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from modem.core import events as ev
from modem.core.protocol import AtConnection, Command, Framing


@dataclass(frozen=True)
class Send:
    command: Command


@dataclass(frozen=True)
class Receive:
    data: bytes


@dataclass(frozen=True)
class Write:
    data: bytes


@dataclass(frozen=True)
class Escape:
    pass


Step = Send | Receive | Write | Escape


@dataclass(frozen=True)
class Transcript:
    name: str
    steps: tuple[Step, ...]
    events: tuple[ev.Event, ...]

    @property
    def command(self) -> Command | None:
        """The first command the host sends (None for unsolicited output only)."""
        return next((s.command for s in self.steps if isinstance(s, Send)), None)

    @property
    def module_bytes(self) -> bytes:
        """Everything the module writes, concatenated."""
        return b"".join(s.data for s in self.steps if isinstance(s, Receive))

    @property
    def host_bytes(self) -> bytes:
        """Everything the host writes, concatenated."""
        out = []
        for s in self.steps:
            if isinstance(s, Send):
                out.append(s.command.encode())
            elif isinstance(s, Write):
                out.append(s.data)
            elif isinstance(s, Escape):
                out.append(b"+++")
        return b"".join(out)


Cuts = Sequence[Iterable[int]]


def play(
    transcript: Transcript,
    cuts: Cuts | None = None,
    conn: AtConnection | None = None,
) -> tuple[list[ev.Event], bytes]:
    """Drive ``conn`` (a fresh ``AtConnection`` by default) through ``transcript``.

    ``cuts`` holds, for each ``Receive`` step in order, the offsets at which
    its data is split into separate ``receive_data`` calls (none: one call).
    Returns the events and the bytes the host wrote.
    """
    conn = AtConnection() if conn is None else conn
    events: list[ev.Event] = []
    wrote = bytearray()
    receives = 0
    for step in transcript.steps:
        if isinstance(step, Send):
            wrote += conn.send_command(step.command)
        elif isinstance(step, Write):
            wrote += conn.send_payload(step.data)
        elif isinstance(step, Escape):
            wrote += conn.leave_transparent()
        else:
            points = sorted(set(cuts[receives])) if cuts is not None else []
            receives += 1
            for a, b in zip([0, *points], [*points, len(step.data)], strict=True):
                events += conn.receive_data(step.data[a:b])
    return events, bytes(wrote)


def coalesce(events: Iterable[ev.Event]) -> list[ev.Event]:
    """``events`` with adjacent ``TransparentData`` merged (their split is arbitrary)."""
    out: list[ev.Event] = []
    for e in events:
        if isinstance(e, ev.TransparentData) and out and isinstance(out[-1], ev.TransparentData):
            out[-1] = ev.TransparentData(out[-1].data + e.data)
        else:
            out.append(e)
    return out


NO_CARRIER_TAIL = b"\r\nNO CARRIER\r\n"


def expected_after_cuts(transcript: Transcript, cuts: Cuts) -> list[ev.Event]:
    """The coalesced events ``play(transcript, cuts)`` must give: the one-feed
    events, wherever the cuts fall (a possible ``NO CARRIER`` is held back, so
    no cut leaves a byte of it in the data)."""
    del cuts
    return coalesce(transcript.events)


# -- the commands, built by hand ---------------------------------------------

MANUAL_DATA = b"Test data from SSL"  # the 18 bytes of the manual's chapter 3

QICSGP = Command('AT+QICSGP=1,1,"UNINET","","",1')
QIACT = Command("AT+QIACT=1", timeout=150.0)
QIACT_QUERY = Command("AT+QIACT?", info_prefixes=("+QIACT",), timeout=150.0)
QIDEACT = Command("AT+QIDEACT=1", timeout=40.0)
QSSLCFG_VERSION = Command('AT+QSSLCFG="sslversion",1,1')
QSSLCFG_CIPHER = Command('AT+QSSLCFG="ciphersuite",1,0X0035')
QSSLCFG_SECLEVEL = Command('AT+QSSLCFG="seclevel",1,1')
QSSLCFG_CACERT = Command('AT+QSSLCFG="cacert",1,"RAM:cacert.pem"')
QSSLCFG_QUOTED_HEX = Command('AT+QSSLCFG="ciphersuite",1,"0XC02F"')
QSSLOPEN_BUFFER = Command('AT+QSSLOPEN=1,1,4,"220.180.239.212",8010,0', timeout=150.0)
QSSLOPEN_PUSH = Command('AT+QSSLOPEN=1,1,4,"220.180.239.212",8011,1', timeout=150.0)
QSSLOPEN_TRANSPARENT = Command(
    'AT+QSSLOPEN=1,1,4,"220.180.239.212",8011,2', framing=Framing.DATA_MODE, timeout=150.0)
QSSLSTATE = Command("AT+QSSLSTATE", info_prefixes=("+QSSLSTATE",))
QSSLSEND_CTRLZ = Command("AT+QSSLSEND=4", framing=Framing.PROMPT_PAYLOAD)
QSSLSEND_18 = Command(
    "AT+QSSLSEND=4,18", framing=Framing.PROMPT_PAYLOAD, payload_len=18)
QSSLRECV_1500 = Command(
    "AT+QSSLRECV=4,1500", framing=Framing.RECV_PAYLOAD, recv_limit=1500)
QSSLCLOSE = Command("AT+QSSLCLOSE=4", timeout=12.0)
AT = Command("AT")
ATE0 = Command("ATE0")
ATI = Command("ATI", framing=Framing.BARE_LINES)
CPIN_QUERY = Command("AT+CPIN?", info_prefixes=("+CPIN",))
# Ten bytes whose QFUPL checksum (XOR of big-endian 16-bit words) is 0x6c6f.
QFUPL_DATA = b"loabcdabcd"
QFUPL = Command(
    'AT+QFUPL="RAM:cacert.pem",10,100', info_prefixes=("+QFUPL",),
    framing=Framing.CONNECT_PAYLOAD, payload_len=10, timeout=105.0)

OK = b"\r\nOK\r\n"


def info(*lines: str) -> bytes:
    """An information response: each line framed, then OK."""
    return b"".join(b"\r\n" + line.encode("latin-1") + b"\r\n" for line in lines) + OK


def recv_reply(data: bytes) -> bytes:
    """The module's answer to ``AT+QSSLRECV`` carrying ``data``."""
    if not data:
        return b"\r\n+QSSLRECV: 0\r\n" + OK
    return b"\r\n+QSSLRECV: %d\r\n" % len(data) + data + b"\r\n" + OK


def push(client_id: int, data: bytes) -> bytes:
    """A direct push mode delivery: ``+QSSLURC: "recv",<id>,<len>`` CR LF data CR LF."""
    return b'\r\n+QSSLURC: "recv",%d,%d\r\n' % (client_id, len(data)) + data + b"\r\n"


def urc(line: str) -> bytes:
    return b"\r\n" + line.encode("latin-1") + b"\r\n"


def transparent_conn() -> AtConnection:
    """A connection right after ``AT+QSSLOPEN`` in transparent mode answered ``CONNECT``."""
    conn = AtConnection()
    conn.send_command(QSSLOPEN_TRANSPARENT)
    assert conn.receive_data(b"\r\nCONNECT\r\n") == [ev.Connect()]
    assert conn.transparent and conn.command is None
    return conn


def _t(name: str, *steps: Step, events: Iterable[ev.Event]) -> Transcript:
    return Transcript(name, tuple(steps), tuple(events))


STATE_BUFFER = '+QSSLSTATE: 4,"SSLClient","220.180.239.212",8010,65344,2,1,4,0,"usbmodem",1'
STATE_PUSH = '+QSSLSTATE: 4,"SSLClient","220.180.239.212",8011,65047,2,1,4,1,"usbmodem",1'

# -- manual chapter 3 ---------------------------------------------------------

MANUAL: tuple[Transcript, ...] = (
    _t("3.1.1 configure PDP context", Send(QICSGP), Receive(OK), events=[ev.Ok()]),
    _t("3.1.2 activate PDP context", Send(QIACT), Receive(OK), events=[ev.Ok()]),
    _t("3.1.2 query PDP context",
       Send(QIACT_QUERY), Receive(info('+QIACT: 1,1,1,"10.7.157.1"')),
       events=[ev.InfoLine('+QIACT: 1,1,1,"10.7.157.1"'), ev.Ok()]),
    _t("3.1.2 query with no active context", Send(QIACT_QUERY), Receive(OK),
       events=[ev.Ok()]),
    _t("3.1.3 deactivate PDP context", Send(QIDEACT), Receive(OK), events=[ev.Ok()]),
    _t("3.2 sslversion", Send(QSSLCFG_VERSION), Receive(OK), events=[ev.Ok()]),
    _t("3.2 ciphersuite", Send(QSSLCFG_CIPHER), Receive(OK), events=[ev.Ok()]),
    _t("3.2 seclevel", Send(QSSLCFG_SECLEVEL), Receive(OK), events=[ev.Ok()]),
    _t("3.2 cacert", Send(QSSLCFG_CACERT), Receive(OK), events=[ev.Ok()]),
    _t("3.3.1 open in buffer mode",
       Send(QSSLOPEN_BUFFER), Receive(OK), Receive(urc("+QSSLOPEN: 4,0")),
       events=[ev.Ok(), ev.SslOpened(4, 0)]),
    _t("3.3.1 state of buffer mode socket",
       Send(QSSLSTATE), Receive(info(STATE_BUFFER)),
       events=[ev.InfoLine(STATE_BUFFER), ev.Ok()]),
    _t("3.3.1 state with no sockets", Send(QSSLSTATE), Receive(OK), events=[ev.Ok()]),
    _t("3.3.2 send with ctrl-z",
       Send(QSSLSEND_CTRLZ), Receive(b"\r\n> "), Write(MANUAL_DATA + b"\x1a"),
       Receive(b"\r\nSEND OK\r\n"),
       events=[ev.Prompt(), ev.SendOk()]),
    _t("3.3.2 send fixed length",
       Send(QSSLSEND_18), Receive(b"\r\n> "), Write(MANUAL_DATA),
       Receive(b"\r\nSEND OK\r\n"),
       events=[ev.Prompt(), ev.SendOk()]),
    _t("3.3.3 recv URC then read 18 bytes",
       Receive(urc('+QSSLURC: "recv",4')),
       Send(QSSLRECV_1500), Receive(recv_reply(MANUAL_DATA)),
       events=[ev.SslRecv(4), ev.RecvPayload(MANUAL_DATA), ev.Ok()]),
    _t("3.3.3 read from an empty buffer",
       Send(QSSLRECV_1500), Receive(recv_reply(b"")),
       events=[ev.RecvPayload(b""), ev.Ok()]),
    _t("3.3.4 close", Send(QSSLCLOSE), Receive(OK), events=[ev.Ok()]),
    _t("3.4.1 open in push mode",
       Send(QSSLOPEN_PUSH), Receive(OK), Receive(urc("+QSSLOPEN: 4,0")),
       Send(QSSLSTATE), Receive(info(STATE_PUSH)),
       events=[ev.Ok(), ev.SslOpened(4, 0), ev.InfoLine(STATE_PUSH), ev.Ok()]),
    _t("3.4.2 send in push mode",
       Send(QSSLSEND_CTRLZ), Receive(b"\r\n> "), Write(MANUAL_DATA + b"\x1a"),
       Receive(b"\r\nSEND OK\r\n"),
       Send(QSSLSEND_18), Receive(b"\r\n> "), Write(MANUAL_DATA),
       Receive(b"\r\nSEND OK\r\n"),
       events=[ev.Prompt(), ev.SendOk(), ev.Prompt(), ev.SendOk()]),
    # A push frame's end is confirmed by the unit after it (modem.core.frames).
    _t("3.4.3 push data", Receive(push(4, MANUAL_DATA) + urc('+QSSLURC: "closed",4')),
       events=[ev.SslPushData(4, MANUAL_DATA), ev.SslClosed(4)]),
    _t("3.4.4 close push mode socket", Send(QSSLCLOSE), Receive(OK), events=[ev.Ok()]),
    _t("3.5.1 transparent send, then +++",
       Send(QSSLOPEN_TRANSPARENT), Receive(b"\r\nCONNECT\r\n"), Escape(), Receive(OK),
       events=[ev.Connect(), ev.Ok()]),
    _t("3.5.2 transparent receive, then +++",
       Send(QSSLOPEN_TRANSPARENT), Receive(b"\r\nCONNECT\r\n" + MANUAL_DATA),
       Escape(), Receive(b"late\r\nbytes" + OK),
       events=[ev.Connect(), ev.TransparentData(MANUAL_DATA),
               ev.TransparentData(b"late\r\nbytes"), ev.Ok()]),
    _t("3.5 transparent, server closes",
       Send(QSSLOPEN_TRANSPARENT),
       Receive(b"\r\nCONNECT\r\n" + MANUAL_DATA + b"\r\nNO CARRIER\r\n"
               + urc('+QSSLURC: "closed",4')),
       events=[ev.Connect(), ev.TransparentData(MANUAL_DATA), ev.NoCarrier(),
               ev.SslClosed(4)]),
    _t("3.5.3 close after transparent mode", Send(QSSLCLOSE), Receive(OK),
       events=[ev.Ok()]),
)

# -- what real firmware does beyond the manual ---------------------------------

FIRMWARE: tuple[Transcript, ...] = (
    _t("echo on: AT", Send(AT), Receive(b"AT\r\r\nOK\r\n"), events=[ev.Echo("AT"), ev.Ok()]),
    _t("echo on: ATE0 is itself echoed", Send(ATE0), Receive(b"ATE0\r\r\nOK\r\n"),
       events=[ev.Echo("ATE0"), ev.Ok()]),
    _t("echo on: info response",
       Send(QIACT_QUERY), Receive(b"AT+QIACT?\r" + info('+QIACT: 1,1,1,"10.0.0.2"')),
       events=[ev.Echo("AT+QIACT?"), ev.InfoLine('+QIACT: 1,1,1,"10.0.0.2"'), ev.Ok()]),
    _t("echo on: fixed-length send",
       Send(QSSLSEND_18), Receive(b"AT+QSSLSEND=4,18\r\r\n> "), Write(MANUAL_DATA),
       Receive(b"\r\nSEND OK\r\n"),
       events=[ev.Echo("AT+QSSLSEND=4,18"), ev.Prompt(), ev.SendOk()]),
    _t("open fails with URC err 566",
       Send(QSSLOPEN_BUFFER), Receive(OK), Receive(urc("+QSSLOPEN: 4,566")),
       events=[ev.Ok(), ev.SslOpened(4, 566)]),
    _t("CME error numeric", Send(QSSLOPEN_BUFFER), Receive(urc("+CME ERROR: 566")),
       events=[ev.CmeError(566, "566")]),
    _t("CME error verbose", Send(CPIN_QUERY), Receive(urc("+CME ERROR: SIM not inserted")),
       events=[ev.CmeError(None, "SIM not inserted")]),
    _t("CPIN ready is information while AT+CPIN? is in flight",
       Send(CPIN_QUERY), Receive(info("+CPIN: READY")),
       events=[ev.InfoLine("+CPIN: READY"), ev.Ok()]),
    _t("bare ERROR for a quoted hex value", Send(QSSLCFG_QUOTED_HEX), Receive(b"\r\nERROR\r\n"),
       events=[ev.Error()]),
    _t("send buffer full",
       Send(QSSLSEND_18), Receive(b"\r\n> "), Write(MANUAL_DATA),
       Receive(b"\r\nSEND FAIL\r\n"),
       events=[ev.Prompt(), ev.SendFail()]),
    _t("send on a closed socket", Send(QSSLSEND_18), Receive(b"\r\nERROR\r\n"),
       events=[ev.Error()]),
    _t("file upload",
       Send(QFUPL), Receive(b"\r\nCONNECT\r\n"), Write(QFUPL_DATA),
       Receive(info("+QFUPL: 10,6c6f")),
       events=[ev.Connect(), ev.InfoLine("+QFUPL: 10,6c6f"), ev.Ok()]),
    _t("boot URCs",
       Receive(urc("RDY") + urc("+CPIN: READY") + urc("+QIND: SMS DONE")),
       events=[ev.ModuleReady(), ev.UnknownUrc("+CPIN: READY"),
               ev.UnknownUrc("+QIND: SMS DONE")]),
    _t("powered down", Receive(urc("POWERED DOWN")), events=[ev.ModulePoweredDown()]),
    _t("PDP context dropped", Receive(urc('+QIURC: "pdpdeact",1')),
       events=[ev.PdpDeactivated(1)]),
    _t("URC between a command and its result",
       Send(QSSLSTATE),
       Receive(urc(STATE_BUFFER) + urc('+QSSLURC: "recv",4') + OK),
       events=[ev.InfoLine(STATE_BUFFER), ev.SslRecv(4), ev.Ok()]),
    _t("URC between a read header's command and its answer",
       Send(QSSLRECV_1500),
       Receive(urc('+QSSLURC: "closed",4') + recv_reply(MANUAL_DATA)),
       events=[ev.SslClosed(4), ev.RecvPayload(MANUAL_DATA), ev.Ok()]),
    _t("URCs back to back",
       Receive(b'\r\n+QSSLURC: "recv",1\r\n+QSSLURC: "recv",2\r\n'
               b'\r\n+QSSLURC: "closed",3\r\n\r\n+QSSLOPEN: 5,0\r\n'),
       events=[ev.SslRecv(1), ev.SslRecv(2), ev.SslClosed(3), ev.SslOpened(5, 0)]),
    _t("URC after extra blank lines",
       Send(QSSLCLOSE), Receive(b'\r\n\r\n\r\n+QSSLURC: "recv",4\r\n\r\n\r\n\r\nOK\r\n'),
       events=[ev.SslRecv(4), ev.Ok()]),
    _t("URC right before the next answer",
       Send(QSSLCLOSE), Receive(OK),
       Send(QSSLRECV_1500), Receive(urc('+QSSLURC: "recv",4') + recv_reply(b"")),
       events=[ev.Ok(), ev.SslRecv(4), ev.RecvPayload(b""), ev.Ok()]),
    _t("push data between a command and its result",
       Send(QSSLSTATE), Receive(push(4, MANUAL_DATA) + info(STATE_PUSH)),
       events=[ev.SslPushData(4, MANUAL_DATA), ev.InfoLine(STATE_PUSH), ev.Ok()]),
    _t("push data without a trailing line end",
       Receive(b'\r\n+QSSLURC: "recv",4,18\r\n' + MANUAL_DATA + urc('+QSSLURC: "closed",4')),
       events=[ev.SslPushData(4, MANUAL_DATA), ev.SslClosed(4)]),
    _t("ATI bare information lines",
       Send(ATI), Receive(info("Quectel", "EC25", "Revision: EC25EFAR06A03M4G")),
       events=[ev.InfoLine("Quectel"), ev.InfoLine("EC25"),
               ev.InfoLine("Revision: EC25EFAR06A03M4G"), ev.Ok()]),
    _t("unknown URCs are never errors",
       Receive(urc('+QSSLURC: "bogus",3') + urc('+QIURC: "dnsgip",0,1,600')
               + urc("+CREG: 1") + urc("+QUSIM: 1") + urc("NORMAL POWER DOWN")),
       events=[ev.UnknownUrc('+QSSLURC: "bogus",3'), ev.UnknownUrc('+QIURC: "dnsgip",0,1,600'),
               ev.UnknownUrc("+CREG: 1"), ev.UnknownUrc("+QUSIM: 1"),
               ev.UnknownUrc("NORMAL POWER DOWN")]),
    _t("unknown URC while a command is in flight",
       Send(QIACT_QUERY), Receive(urc("+CREG: 5") + OK),
       events=[ev.UnknownUrc("+CREG: 5"), ev.Ok()]),
    _t("a result with nothing in flight is a URC",
       Receive(OK), events=[ev.UnknownUrc("OK")]),
)

ALL: tuple[Transcript, ...] = MANUAL + FIRMWARE
