"""``run_mux``: the module's multiplexer on one AT port's line, after ``AT+CMUX``'s OK.

What the module does with the host's frames (27.010 5.4, 5.4.6):

* SABM on DLC 0 starts the control channel (UA).  SABM on DLCs
  1..``cmux_dlcs`` opens an AT port on that DLC (UA), followed by the
  module's MSC for it (RTC and RTR on: DSR and CTS); SABM on any other DLC,
  or before DLC 0, answers DM.  DISC on an open DLC closes its port (UA),
  on a closed one answers DM; DISC on DLC 0 closes everything (UA).
* On DLC 0: MSC sets the DLC's DTR (RTC) and holds our frames while FC is
  set; FCoff / FCon hold or release every DLC; Test echoes; PN agrees the
  smaller N1 (or, without ``cmux_pn``, answers NSC); CLD answers and closes
  everything; any other command answers NSC.  Every command gets its
  response; the host's responses need nothing.
* Data on an open DLC goes to its port's line (``DlcChannel``); frames for
  a DLC that is not open, and broken frames, are dropped and counted.

Faults (``line_faults.MuxFcsErrors``, ``line_faults.DlcSilent``,
``line_faults.DlcLag``): the next frames the module writes in this session
go out with a broken FCS (the host's decoder drops them, as a noisy line
does); a silent DLC drops every frame to and from it (its port hears
nothing, the host hears nothing back) until the multiplexer closes; a
lagging DLC's port reads each frame some time after it came.

After CLD or DISC on DLC 0 the line carries AT commands again.  The line
is the pty's ``HostLine``: every byte, framing included, is paced as the
line is.  With ``cmux_hang_below_ms`` the module hangs for good (answers
nothing, on any port, until a restart) when the first byte after the OK
arrives sooner than that (zephyr#63410: a BG95 below 100 ms).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import trio

from ..at_port import AtPort
from ..line import HostLine
from .channel import DlcChannel
from .framing import (
    CLD,
    DISC,
    DM,
    FC,
    FCOFF,
    FCON,
    MSC,
    NSC,
    PN,
    RTC,
    RTR,
    SABM,
    TEST,
    UA,
    UI,
    UIH,
    FrameReader,
    HostFrame,
    build,
    flag_fcs_size,
    message,
    messages,
)

if TYPE_CHECKING:
    from ..module import Module

MSC_T2 = 0.3
"""Seconds the module waits for the host's response to its MSC before sending it
again (27.010 5.7's default T2)."""


async def run_mux(module: Module, port: AtPort, n1: int, ok_sent_at: float) -> None:
    """Run the multiplexer on ``port``'s line until the host closes it down."""
    engine = MuxEngine(module, port, n1)
    port.muxed = True
    try:
        async with port.line.urc_gate:  # the line carries frames, not this port's URCs
            await engine.run(ok_sent_at)
    finally:
        port.muxed = False
        module.pending_faults.silent_dlcs.clear()
        module.pending_faults.dlc_lags.clear()
        module.pending_faults.fcs_errors = 0  # the burst was this session's line
        module.pending_faults.byte_losses = 0
        module.pending_faults.status_losses = 0


class MuxEngine:
    """The multiplexer of one line: its DLCs and the frames between them."""

    def __init__(self, module: Module, port: AtPort, n1: int) -> None:
        self.module = module
        self.port = port
        self.line = port.line
        self.n1 = n1
        self.reader = FrameReader(max_info=n1)
        self.channels: dict[int, DlcChannel] = {}
        self.started = False  # DLC 0 is open
        self.stopped_all = False  # the host's FCoff
        self.unknown_dlc = 0
        self.ignores_start = module.unanswered_starts > 0  # cmux_unanswered_starts
        module.unanswered_starts -= self.ignores_start
        self._closing = False
        self._n1_agreed: dict[int, int] = {}
        self._flow = trio.lowlevel.ParkingLot()
        self._lagging: dict[int, trio.MemorySendChannel[tuple[float, bytes]]] = {}
        self._nursery: trio.Nursery | None = None

    async def run(self, ok_sent_at: float) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            data = await self.line.read_some()
            hang_below = self.module.config.cmux_hang_below_ms / 1000
            if hang_below and self.line.last_input_time - ok_sent_at < hang_below:
                await self._hang()
            while True:
                for frame in self.reader.feed(data):
                    await self._on_frame(frame)
                    if self._closing:
                        nursery.cancel_scope.cancel()
                        return
                await self._send_due_status()
                data = await self.line.read_some()

    async def _hang(self) -> None:
        self.module.hung = True
        self.module.silence(math.inf)
        await trio.sleep_forever()

    # -- frames ------------------------------------------------------------------

    async def _write(self, frame: bytes) -> None:
        if self.module.pending_faults.take_fcs_error():
            frame = frame[:-2] + bytes([frame[-2] ^ 0xFF]) + frame[-1:]
        await self.line.write(frame)

    def _silent(self, dlci: int) -> bool:
        return dlci in self.module.pending_faults.silent_dlcs

    async def _on_frame(self, frame: HostFrame) -> None:
        if frame.dlci == 0:
            await self._on_control_frame(frame)
            return
        if self._silent(frame.dlci):
            return
        channel = self.channels.get(frame.dlci)
        if frame.kind == SABM:
            await self._open(frame)
        elif frame.kind == DISC:
            await self._write(build(frame.dlci, UA if channel else DM, response=True,
                                    final=frame.poll))
            if channel:
                self._close(channel)
        elif frame.kind in (UIH, UI) and channel:
            self._deliver(channel, frame.info)
        elif frame.kind in (UIH, UI):
            self.unknown_dlc += 1

    def _deliver(self, channel: DlcChannel, info: bytes) -> None:
        """Host data to ``channel``'s port, at once or (``line_faults.DlcLag``) later,
        in order."""
        lag = self.module.pending_faults.dlc_lags.get(channel.dlci)
        lagging = self._lagging.get(channel.dlci)
        if lag is None and lagging is None:
            channel.deliver(info)
            return
        if lagging is None:
            lagging, later = trio.open_memory_channel[tuple[float, bytes]](math.inf)
            self._lagging[channel.dlci] = lagging
            assert self._nursery is not None
            self._nursery.start_soon(self._deliver_later, channel, later)
        lagging.send_nowait((trio.current_time() + (lag or 0.0), info))

    @staticmethod
    async def _deliver_later(channel: DlcChannel,
                             later: trio.MemoryReceiveChannel[tuple[float, bytes]]) -> None:
        async for due, info in later:
            await trio.sleep_until(due)
            if channel.closed:
                return
            channel.deliver(info)

    async def _on_control_frame(self, frame: HostFrame) -> None:
        if frame.kind == SABM and self.ignores_start:
            return
        if frame.kind == SABM:
            self.started = True
            await self._write(build(0, UA, response=True, final=frame.poll))
        elif frame.kind == DISC:
            await self._write(build(0, UA, response=True, final=frame.poll))
            self._close_all()
        elif frame.kind in (UIH, UI) and self.started:
            found = messages(frame.info)
            if found is None:
                self.reader.dropped += 1
                return
            for kind, command, value in found:
                if command and kind == MSC and self.module.pending_faults.take_status_loss():
                    continue  # line_faults.MuxStatusLoss: lost on the way
                if command:
                    await self._on_command(kind, value)
                elif kind == MSC and value and (answered := self.channels.get(value[0] >> 2)):
                    answered.status_answered = answered.status_sent

    async def _open(self, frame: HostFrame) -> None:
        dlci = frame.dlci
        offered = self.started and 1 <= dlci <= self.module.config.cmux_dlcs
        if offered and dlci not in self.channels:  # its port takes URCs before the UA is out
            channel = DlcChannel(self, dlci, self._n1_agreed.get(dlci, self.n1))
            self.channels[dlci] = channel
            assert self._nursery is not None
            await self._nursery.start(self._serve, channel)
        await self._write(build(dlci, UA if offered else DM, response=True, final=frame.poll))
        if offered:
            await self.send_status(self.channels[dlci])

    async def _serve(self, channel: DlcChannel,
                     task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        # A DLC's line is unpaced: the multiplexer's line is, framing included.
        line = HostLine(channel, 0)
        line.holds_input = True  # a hung module leaves its DLCs' bytes unread
        port = AtPort(self.port.name, line, dlci=channel.dlci)
        channel.port = port
        with channel.scope:
            if channel.dlci in self.module.config.cmux_mute_dlcs:  # no AT port (NMEA...)
                task_status.started()
                await trio.sleep_forever()
            await self.module.serve(port, task_status=task_status)

    def _close(self, channel: DlcChannel) -> None:
        self.channels.pop(channel.dlci, None)
        lagging = self._lagging.pop(channel.dlci, None)
        if lagging is not None:
            lagging.close()
        channel.close()
        self._flow.unpark_all()

    def _close_all(self) -> None:
        for channel in list(self.channels.values()):
            self._close(channel)
        self._closing = True

    # -- the control channel -------------------------------------------------------

    async def _on_command(self, kind: int, value: bytes) -> None:
        reply = value
        if kind == MSC:
            self._on_status(value)
        elif kind in (FCOFF, FCON):
            self.stopped_all = kind == FCOFF
            self._flow.unpark_all()
        elif kind == PN:
            if not self.module.config.cmux_pn or len(value) != 8:
                await self._answer(NSC, bytes([kind]))
                return
            agreed = min(value[4] | value[5] << 8, self.n1)
            self._n1_agreed[value[0] & 0x3F] = agreed
            reply = value[:4] + bytes([agreed & 0xFF, agreed >> 8]) + value[6:]
        elif kind == CLD:
            await self._answer(CLD, b"")
            self._close_all()
            return
        elif kind != TEST:
            await self._answer(NSC, bytes([kind]))
            return
        await self._answer(kind, reply)

    def _on_status(self, value: bytes) -> None:
        if len(value) < 2:
            return
        channel = self.channels.get(value[0] >> 2)
        if channel is None:
            return
        channel.host_stopped = bool(value[1] & FC)
        if channel.port is not None:
            channel.port.set_dtr(bool(value[1] & RTC))
        self._flow.unpark_all()

    async def _answer(self, kind: int, value: bytes) -> None:
        await self._write(build(0, UIH, message(kind, value)))

    async def _send_due_status(self) -> None:
        for channel in list(self.channels.values()):
            if channel.status_due:
                await self.send_status(channel)

    # -- ChannelOwner --------------------------------------------------------------

    async def send_status(self, channel: DlcChannel) -> None:
        """Our MSC for ``channel``: DSR and CTS on, FC while we hold the host; sent
        again every T2 while the host's response is missing (``cmux_msc_retries``)."""
        channel.status_due = False
        channel.status_sent += 1
        await self._write(self._status_frame(channel))
        if self.module.config.cmux_msc_retries and self._nursery is not None:
            self._nursery.start_soon(self._resend_status, channel, channel.status_sent)

    @staticmethod
    def _status_frame(channel: DlcChannel) -> bytes:
        signals = RTC | RTR | (FC if channel.stopping_host else 0)
        value = bytes([channel.dlci << 2 | 0x03, signals | 0x01])
        return build(0, UIH, message(MSC, value, command=True))

    async def _resend_status(self, channel: DlcChannel, sent: int) -> None:
        for _ in range(self.module.config.cmux_msc_retries):
            await trio.sleep(MSC_T2)
            if channel.closed or channel.status_answered >= sent or channel.status_sent != sent:
                return  # answered, or a newer status went out with its own retries
            await self._write(self._status_frame(channel))

    async def send_data(self, channel: DlcChannel, data: bytes) -> None:
        start = 0
        while start < len(data):
            while (self.stopped_all or channel.host_stopped) and not channel.closed:
                await self._flow.park()
            if channel.closed:
                return
            size = min(channel.n1, len(data) - start)
            faults = self.module.pending_faults
            lossy = flag_fcs_size(channel.dlci, size) if faults.byte_losses else None
            if lossy:  # line_faults.MuxByteLoss: cut to that size, lose a byte
                faults.byte_losses -= 1
                size = lossy
            frame = build(channel.dlci, UIH, data[start:start + size])
            start += size
            if self._silent(channel.dlci):
                continue
            if lossy:  # the middle byte of its information: the FCS and flag end it
                at = len(frame) - 2 - lossy // 2
                frame = frame[:at] + frame[at + 1:]
            await self._write(frame)
