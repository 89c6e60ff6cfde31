"""``MuxConnection``: the host's side of a 27.010 basic-option multiplexer, sans I/O.

In the manner of ``modem.core.protocol.AtConnection``: the host asks for the
bytes of what it wants to send (``start``, ``open``, ``send``, ``close``,
``close_down``, ``send_status``, ``send_test``, ``negotiate``) and feeds
what the module writes to ``receive_data``, which returns ``MuxEvent``\\ s.
The answers the protocol owes the module (the response to its MSC, Test,
FCon/FCoff, CLD and PN commands, UA to its DISC, DM to a SABM, NSC to a
command we do not know) are queued; ``data_to_send`` takes them, and the
caller writes them before any data frame.

The host is the initiator (27.010 5.2.1.2, 5.4.3.1): its commands (SABM,
DISC, UIH) carry frame C/R 1, its responses (UA, DM) C/R 0.  Received
frames are taken whatever their C/R bit: esp_modem sends its UIH frames
with C/R 0 as initiator and BG96 firmware takes them
(espressif/esp-protocols#305), so a module may be as loose.  Messages on
DLC 0 carry their own C/R bit, which tells a command from a response.

N1, the most information bytes in one frame, is given (``n1``: what
``AT+CMUX`` set; 127 in the bring-ups of oFono and Zephyr) or agreed per
DLC with PN, where the module's answer is the value in force whatever we
proposed.  Received frames longer than ``receive_limit`` (by default the
given N1) are counted as ``too_long`` and skipped.

Nothing the module sends raises: bad frames, frames for DLCs that are not
open, messages that do not parse and answers nobody asked for are counted
in ``counters``.  Only the host's own misuse raises ``MuxUsageError``.
"""

from __future__ import annotations

import enum

from modem.core.mux import events as ev
from modem.core.mux.errors import MuxUsageError
from modem.core.mux.frames import (
    MAX_DLCI,
    Frame,
    FrameDecoder,
    FrameType,
    encode_frame,
    sendable_size,
)
from modem.core.mux.messages import (
    V24,
    ControlMessage,
    MessageType,
    ModemStatus,
    Parameters,
    decode_messages,
    encode_message,
)

__all__ = ["DEFAULT_N1", "DlcState", "MuxConnection", "MuxState"]

DEFAULT_N1 = 127
"""N1 of ``AT+CMUX=0,0,<speed>,127,...`` as oFono and Zephyr bring Quectel modules up."""

_DATA = (FrameType.UIH, FrameType.UI)


class MuxState(enum.Enum):
    """The multiplexer as a whole (DLC 0)."""

    IDLE = "idle"  # not started: the line carries AT commands
    STARTING = "starting"  # SABM on DLC 0 sent
    OPEN = "open"
    CLOSING = "closing"  # CLD sent
    CLOSED = "closed"  # closed down: the line carries AT commands again


class DlcState(enum.Enum):
    """One data link connection (DLCI 1-63)."""

    CLOSED = "closed"
    OPENING = "opening"  # SABM sent
    OPEN = "open"
    CLOSING = "closing"  # DISC sent


class MuxConnection:
    """The host's multiplexer state and framing; see the module docstring."""

    def __init__(self, *, n1: int = DEFAULT_N1, receive_limit: int | None = None) -> None:
        if not 1 <= n1 <= 0x7FFF:
            raise ValueError(f"N1 must be 1-32767, not {n1}")
        self.default_n1 = n1
        self._decoder = FrameDecoder(receive_limit or n1)
        self.counters = self._decoder.counters
        self._state = MuxState.IDLE
        self._dlcs: dict[int, DlcState] = {}
        self._n1: dict[int, int] = {}
        self._peer: dict[int, V24] = {}
        self._peer_stopped: set[int] = set()
        self._all_stopped = False
        self._outbox = bytearray()

    # -- state -----------------------------------------------------------------

    @property
    def holding(self) -> bool:
        """True while part of a frame is held (``resync`` once the line is quiet)."""
        return self._decoder.buffered > 1

    @property
    def state(self) -> MuxState:
        return self._state

    def dlc_state(self, dlci: int) -> DlcState:
        return self._dlcs.get(dlci, DlcState.CLOSED)

    def open_dlcs(self) -> list[int]:
        return sorted(d for d, s in self._dlcs.items() if s is DlcState.OPEN)

    def n1(self, dlci: int) -> int:
        """The most information bytes in one frame on ``dlci`` (agreed by PN, else given)."""
        return self._n1.get(dlci, self.default_n1)

    def peer_signals(self, dlci: int) -> V24:
        """The module's last MSC signals for ``dlci`` (none before its first MSC)."""
        return self._peer.get(dlci, V24.NONE)

    def stopped(self, dlci: int) -> bool:
        """True while the module asked for no data frames on ``dlci`` (its MSC FC
        bit, or FCoff for all)."""
        return self._all_stopped or dlci in self._peer_stopped

    # -- host side ---------------------------------------------------------------

    def start(self) -> bytes:
        """SABM on DLC 0: the first frame after ``AT+CMUX``'s OK."""
        if self._state not in (MuxState.IDLE, MuxState.CLOSED):
            raise MuxUsageError(f"cannot start a multiplexer that is {self._state.value}")
        self._state = MuxState.STARTING
        return self._frame(0, FrameType.SABM, pf=True)

    def open(self, dlci: int) -> bytes:
        """SABM on ``dlci``; ``DlcOpened`` or ``DlcClosed(REFUSED)`` follows."""
        self._check_dlci(dlci)
        self._require_open()
        if self.dlc_state(dlci) is not DlcState.CLOSED:
            raise MuxUsageError(f"DLC {dlci} is {self.dlc_state(dlci).value}")
        self._dlcs[dlci] = DlcState.OPENING
        return self._frame(dlci, FrameType.SABM, pf=True)

    def close(self, dlci: int) -> bytes:
        """DISC on ``dlci``; ``DlcClosed(BY_HOST)`` follows."""
        self._check_dlci(dlci)
        if self.dlc_state(dlci) not in (DlcState.OPEN, DlcState.OPENING):
            raise MuxUsageError(f"DLC {dlci} is {self.dlc_state(dlci).value}")
        self._dlcs[dlci] = DlcState.CLOSING
        return self._frame(dlci, FrameType.DISC, pf=True)

    def close_down(self) -> bytes:
        """CLD: the whole multiplexer; ``MuxClosed`` follows its response."""
        self._require_open()
        self._state = MuxState.CLOSING
        return self._control(ControlMessage(MessageType.CLD, True))

    def send(self, dlci: int, data: bytes) -> bytes:
        """UIH frames carrying ``data`` on ``dlci``, each at most ``n1(dlci)`` bytes
        and none of a size whose FCS is 0xF9 (``frames.sendable_size``).

        Flow control is the caller's: ``stopped(dlci)`` says whether the
        module wants none now.
        """
        self._check_dlci(dlci)
        if self.dlc_state(dlci) is not DlcState.OPEN:
            raise MuxUsageError(f"cannot send on DLC {dlci}: it is {self.dlc_state(dlci).value}")
        step, frames, at = self.n1(dlci), [], 0
        while at < len(data):
            # Data goes as commands (C/R 1, as ``_frame`` sends them).
            size = sendable_size(dlci, True, min(step, len(data) - at))
            frames.append(self._frame(dlci, FrameType.UIH, data[at:at + size]))
            at += size
        return b"".join(frames)

    def send_status(self, dlci: int, signals: V24, brk: int | None = None) -> bytes:
        """MSC for ``dlci``: our DTR (``V24.RTC``), RTS (``RTR``) and flow control (``FC``)."""
        self._check_dlci(dlci)
        self._require_open()
        return self._control(ControlMessage(MessageType.MSC, True,
                                            ModemStatus(dlci, signals, brk).encode()))

    def send_test(self, pattern: bytes) -> bytes:
        """Test: the module answers with ``pattern`` (``TestReply``)."""
        self._require_open()
        return self._control(ControlMessage(MessageType.TEST, True, pattern))

    def negotiate(self, parameters: Parameters) -> bytes:
        """PN for a closed DLC; the module's answer (``ParametersAgreed``) sets its N1."""
        self._check_dlci(parameters.dlci)
        self._require_open()
        if self.dlc_state(parameters.dlci) is not DlcState.CLOSED:
            raise MuxUsageError(f"DLC {parameters.dlci} is open: negotiate before opening it")
        if not 1 <= parameters.n1 <= 0x7FFF:
            raise MuxUsageError(f"N1 must be 1-32767, not {parameters.n1}")
        return self._control(ControlMessage(MessageType.PN, True, parameters.encode()))

    def give_up(self, dlci: int) -> None:
        """The host stops waiting for the answer to its SABM or DISC on ``dlci``
        (0: to its start, or to its CLD): the DLC is closed, the multiplexer idle
        (or closed).  A late answer is then counted as unexpected."""
        if dlci == 0:
            if self._state is MuxState.STARTING:
                self._state = MuxState.IDLE
            elif self._state is MuxState.CLOSING:
                self._shut([])
            return
        if self.dlc_state(dlci) in (DlcState.OPENING, DlcState.CLOSING):
            self._dlc_closed(dlci, ev.CloseReason.BY_HOST, [])

    def data_to_send(self) -> bytes:
        """The answers owed to the module since the last call (write them first)."""
        out = bytes(self._outbox)
        self._outbox.clear()
        return out

    def _check_dlci(self, dlci: int) -> None:
        if not 1 <= dlci <= MAX_DLCI:
            raise MuxUsageError(f"DLCI {dlci} is not in 1-{MAX_DLCI}")

    def _require_open(self) -> None:
        if self._state is not MuxState.OPEN:
            raise MuxUsageError(f"the multiplexer is {self._state.value}")

    def _frame(self, dlci: int, kind: FrameType, info: bytes = b"", *, pf: bool = False,
               response: bool = False) -> bytes:
        return encode_frame(Frame(dlci, kind, cr=not response, pf=pf, info=info))

    def _control(self, message: ControlMessage) -> bytes:
        info = encode_message(message)
        if len(info) > self.n1(0):
            raise MuxUsageError(f"a {len(info)}-byte control message exceeds N1 {self.n1(0)}")
        return self._frame(0, FrameType.UIH, info)

    # -- module side -------------------------------------------------------------

    def receive_data(self, data: bytes | bytearray) -> list[ev.MuxEvent]:
        """Events for the frames ``data`` completes; never raises."""
        out: list[ev.MuxEvent] = []
        for frame in self._decoder.feed(data):
            self._on_frame(frame, out)
        return out

    def resync(self) -> list[ev.MuxEvent]:
        """The line has been quiet: settle a half-received frame now (``FrameDecoder.flush``)."""
        out: list[ev.MuxEvent] = []
        for frame in self._decoder.flush():
            self._on_frame(frame, out)
        return out

    def _on_frame(self, frame: Frame, out: list[ev.MuxEvent]) -> None:
        if frame.dlci == 0:
            self._on_control_frame(frame, out)
        else:
            self._on_dlc_frame(frame, out)

    def _reply(self, dlci: int, kind: FrameType, pf: bool) -> None:
        self._outbox += self._frame(dlci, kind, pf=pf, response=True)

    def _answer(self, message: ControlMessage) -> None:
        self._outbox += self._frame(0, FrameType.UIH, encode_message(message))

    def _on_control_frame(self, frame: Frame, out: list[ev.MuxEvent]) -> None:
        state, kind = self._state, frame.kind
        if kind is FrameType.UA and state is MuxState.STARTING:
            self._state = MuxState.OPEN
            out.append(ev.DlcOpened(0))
        elif kind is FrameType.DM and state is MuxState.STARTING:
            self._state = MuxState.IDLE
            out.append(ev.DlcClosed(0, ev.CloseReason.REFUSED))
        elif kind is FrameType.DISC and state in (MuxState.OPEN, MuxState.CLOSING):
            self._reply(0, FrameType.UA, frame.pf)
            self._shut(out)
        elif kind in _DATA and state in (MuxState.OPEN, MuxState.CLOSING):
            self._on_messages(frame.info, out)
        elif kind in (FrameType.SABM, FrameType.DISC):
            self._reply(0, FrameType.DM, frame.pf)  # we start the multiplexer, not the module
            self.counters.unexpected += 1
        else:
            self.counters.unexpected += 1

    def _on_dlc_frame(self, frame: Frame, out: list[ev.MuxEvent]) -> None:
        dlci, kind = frame.dlci, frame.kind
        running = self._state in (MuxState.OPEN, MuxState.CLOSING)
        state = self.dlc_state(dlci) if running else DlcState.CLOSED
        if kind in _DATA:
            if state in (DlcState.OPEN, DlcState.CLOSING):
                if frame.info:
                    out.append(ev.DataReceived(dlci, frame.info))
            else:
                self.counters.unknown_dlc += 1
        elif kind is FrameType.UA and state is DlcState.OPENING:
            self._dlcs[dlci] = DlcState.OPEN
            out.append(ev.DlcOpened(dlci))
        elif kind in (FrameType.UA, FrameType.DM) and state is DlcState.CLOSING:
            self._dlc_closed(dlci, ev.CloseReason.BY_HOST, out)
        elif kind is FrameType.DM and state is DlcState.OPENING:
            self._dlc_closed(dlci, ev.CloseReason.REFUSED, out)
        elif kind in (FrameType.DM, FrameType.DISC) and state is DlcState.OPEN:
            if kind is FrameType.DISC:
                self._reply(dlci, FrameType.UA, frame.pf)
            self._dlc_closed(dlci, ev.CloseReason.BY_MODULE, out)
        elif kind in (FrameType.SABM, FrameType.DISC):
            self._reply(dlci, FrameType.DM, frame.pf)  # not open, and not opened by the module
            self.counters.unknown_dlc += 1
        else:
            self.counters.unexpected += 1

    def _dlc_closed(self, dlci: int, reason: ev.CloseReason, out: list[ev.MuxEvent]) -> None:
        self._dlcs.pop(dlci, None)
        self._n1.pop(dlci, None)
        self._peer.pop(dlci, None)
        self._peer_stopped.discard(dlci)
        out.append(ev.DlcClosed(dlci, reason))

    def _shut(self, out: list[ev.MuxEvent]) -> None:
        """The multiplexer is down: every DLC with it."""
        for dlci in sorted(self._dlcs):
            self._dlc_closed(dlci, ev.CloseReason.MUX_CLOSED, out)
        self._state = MuxState.CLOSED
        self._all_stopped = False
        out.append(ev.MuxClosed())

    # -- the control channel ------------------------------------------------------

    def _on_messages(self, info: bytes, out: list[ev.MuxEvent]) -> None:
        messages, whole = decode_messages(info)
        if not whole:
            self.counters.bad_messages += 1
        for message in messages:
            if message.command:
                self._on_command(message, out)
            else:
                self._on_response(message, out)
            if self._state is MuxState.CLOSED:
                return

    def _on_command(self, message: ControlMessage, out: list[ev.MuxEvent]) -> None:
        kind, value = message.kind, message.value
        if kind is MessageType.MSC:
            status = ModemStatus.decode(value)
            if status is None or status.dlci == 0:
                self.counters.bad_messages += 1
                return
            self._answer(ControlMessage(kind, False, value))
            self._on_peer_status(status, out)
        elif kind in (MessageType.FCON, MessageType.FCOFF):
            self._answer(ControlMessage(kind, False, value))
            stopped = kind is MessageType.FCOFF
            if stopped != self._all_stopped:
                self._all_stopped = stopped
                out.append(ev.FlowControl(None, stopped))
        elif kind is MessageType.TEST:
            self._answer(ControlMessage(kind, False, value))
        elif kind is MessageType.CLD:
            self._answer(ControlMessage(kind, False, value))
            self._shut(out)
        elif kind is MessageType.PN:
            self._on_peer_parameters(value, out)
        elif kind is MessageType.NSC:
            self.counters.unexpected += 1  # NSC is a response only
        else:
            self._answer(ControlMessage(MessageType.NSC, False, bytes((int(kind) | 0x01,))))

    def _on_response(self, message: ControlMessage, out: list[ev.MuxEvent]) -> None:
        kind, value = message.kind, message.value
        if kind is MessageType.TEST:
            out.append(ev.TestReply(value))
        elif kind is MessageType.CLD and self._state is MuxState.CLOSING:
            self._shut(out)
        elif kind is MessageType.PN:
            parameters = Parameters.decode(value)
            if parameters is None or not 1 <= parameters.n1 <= 0x7FFF:
                self.counters.bad_messages += 1
                return
            self._n1[parameters.dlci] = parameters.n1  # the module's answer is in force
            out.append(ev.ParametersAgreed(parameters))
        elif kind is MessageType.NSC:
            out.append(ev.NotSupported(value[0] | 0x02 if value else 0))
        elif kind is MessageType.MSC:
            status = ModemStatus.decode(value)
            if status is None:
                self.counters.bad_messages += 1
                return
            out.append(ev.StatusAnswered(status.dlci, status.signals))
        elif kind not in (MessageType.FCON, MessageType.FCOFF):
            self.counters.unexpected += 1

    def _on_peer_status(self, status: ModemStatus, out: list[ev.MuxEvent]) -> None:
        dlci = status.dlci
        self._peer[dlci] = status.signals
        out.append(ev.PeerStatus(dlci, status.signals, status.brk))
        stopped = bool(status.signals & V24.FC)
        if stopped != (dlci in self._peer_stopped):
            if stopped:
                self._peer_stopped.add(dlci)
            else:
                self._peer_stopped.discard(dlci)
            out.append(ev.FlowControl(dlci, stopped))

    def _on_peer_parameters(self, value: bytes, out: list[ev.MuxEvent]) -> None:
        """The module proposes parameters: take its N1 up to ours, and say so."""
        proposed = Parameters.decode(value)
        if proposed is None or not 1 <= proposed.n1 <= 0x7FFF:
            self.counters.bad_messages += 1
            return
        agreed = Parameters(proposed.dlci, min(proposed.n1, self.default_n1), proposed.priority,
                            proposed.t1, proposed.n2, proposed.k)
        self._n1[agreed.dlci] = agreed.n1
        self._answer(ControlMessage(MessageType.PN, False, agreed.encode()))
        out.append(ev.ParametersAgreed(agreed))

