"""``DlcStream``: one DLC of the 07.10 multiplexer as a ``trio.abc.Stream``.

``MuxSession`` (``modem.link.mux_session``) makes one per open DLC and feeds
it; the stream sees its session only through the ``DlcHost`` protocol.

* ``send_all`` hands its bytes to the session's writer, which sends them in
  frame-sized turns with the other DLCs' and returns once the last frame is
  on the line.  Nothing is queued beyond one copy of the caller's buffer.
  While the module's MSC for this DLC has FC set (or it sent FCoff), the
  writer sends nothing here and ``send_all`` waits.  A ``send_all``
  cancelled after part of its data went out leaves the send side broken:
  nobody knows what the other end got.
* ``receive_some`` takes what the module sent, in order.  The buffer is
  bounded: past ``high_water`` bytes unread the session tells the module to
  stop (MSC with FC), below half of it to go on; if the module sends on
  past ``limit`` anyway, the stream fails with ``DlcOverrun`` (what it held
  is dropped, visibly) rather than grow or lose data silently.
* When the DLC closes (our ``aclose``, the module's DISC or DM, the whole
  multiplexer's CLD) the buffered bytes are still delivered, then ``b""``;
  ``send_all`` raises ``DlcClosedError``.  When the line under the
  multiplexer is lost, every call raises ``MuxLost``.
* ``set_signals`` sends our V.24 signals (DTR is ``V24.RTC``, RTS ``RTR``);
  ``peer_signals`` is the module's last MSC for the DLC (DCD is ``V24.DV``).
* ``frames_sent`` / ``frames_received`` count the DLC's data frames each way.
"""

from __future__ import annotations

from typing import Protocol

import trio

from modem.core.mux import V24
from modem.core.mux.errors import DlcClosedError, DlcOverrun, MuxError
from modem.link.conflict import OneTaskAtATime

__all__ = ["DlcHost", "DlcStream"]


class DlcHost(Protocol):
    """What a ``DlcStream`` needs of its session."""

    def want_write(self, stream: DlcStream) -> None: ...

    def withdraw(self, stream: DlcStream) -> None: ...

    def send_signals(self, stream: DlcStream) -> None: ...

    async def close_dlc(self, stream: DlcStream) -> None: ...


class DlcStream(trio.abc.Stream):
    """One open DLC; see the module docstring."""

    def __init__(self, host: DlcHost, dlci: int, *, high_water: int, limit: int) -> None:
        self.dlci = dlci
        self.high_water = high_water
        self.limit = limit
        self._host = host
        self._inbox = bytearray()
        self._changed = trio.lowlevel.ParkingLot()
        self._ended: MuxError | None = None  # closed (DlcClosedError) or failed
        self._failed = False
        self._pending = memoryview(b"")
        self._sent_any = False
        self._send_broken = False
        self.signals = V24.RTC | V24.RTR  # ours: DTR and RTS on
        self.stopping_peer = False  # we sent FC: the module should hold its frames
        self.peer_signals = V24.NONE
        self.frames_sent = 0
        self.frames_received = 0
        self.raw = False
        """It carries raw bytes (a transparent session): a frame dropped on the
        line fails it (``MuxSession``), since nothing in the bytes shows the hole."""
        self._send_guard = OneTaskAtATime(f"another task is sending on DLC {dlci}")
        self._receive_guard = OneTaskAtATime(f"another task is receiving on DLC {dlci}")

    # -- for the session ---------------------------------------------------------

    @property
    def pending(self) -> int:
        """Bytes of the current ``send_all`` not on the line yet."""
        return len(self._pending)

    def take(self, n: int) -> bytes:
        """The next ``n`` bytes to frame (the writer's turn); wakes the sender when done."""
        chunk = bytes(self._pending[:n])
        self._pending = self._pending[n:]
        self._sent_any = True
        self.frames_sent += 1
        if not self._pending:
            self._changed.unpark_all()
        return chunk

    def deliver(self, data: bytes) -> None:
        """Bytes from the module; past ``limit`` unread the stream fails."""
        if self._ended is not None:
            return
        self.frames_received += 1
        self._inbox += data
        if len(self._inbox) > self.limit:
            self._inbox.clear()
            self.end(DlcOverrun(f"DLC {self.dlci}: more than {self.limit} bytes unread"),
                     failed=True)
            return
        if len(self._inbox) > self.high_water and not self.stopping_peer:
            self.stopping_peer = True
            self._host.send_signals(self)
        self._changed.unpark_all()

    def end(self, error: MuxError, *, failed: bool = False) -> None:
        """The DLC is over: closed (buffered bytes still readable) or ``failed``."""
        if self._ended is None or (failed and not self._failed):
            self._ended, self._failed = error, failed
        self._pending = memoryview(b"")
        self._changed.unpark_all()

    def peer_status(self, signals: V24) -> None:
        self.peer_signals = signals
        self._changed.unpark_all()

    # -- trio.abc.Stream -----------------------------------------------------------

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        with self._send_guard:
            self._check_send()
            if not data:
                await trio.lowlevel.checkpoint()
                return
            self._pending, self._sent_any = memoryview(bytes(data)), False
            self._host.want_write(self)
            try:
                while self._pending:
                    await self._changed.park()
            except trio.Cancelled:
                if self._pending:
                    self._host.withdraw(self)
                    self._send_broken = self._sent_any
                    self._pending = memoryview(b"")
                raise
            self._check_send()

    async def wait_send_all_might_not_block(self) -> None:
        with self._send_guard:
            await trio.lowlevel.checkpoint()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        with self._receive_guard:
            while not self._inbox and self._ended is None:
                await self._changed.park()
            if self._failed and self._ended is not None:
                raise self._ended
            if not self._inbox:
                await trio.lowlevel.checkpoint()
                return b""
            n = len(self._inbox) if max_bytes is None else max(1, max_bytes)
            data = bytes(self._inbox[:n])
            del self._inbox[:n]
            if self.stopping_peer and len(self._inbox) <= self.high_water // 2:
                self.stopping_peer = False
                self._host.send_signals(self)
            return data

    async def aclose(self) -> None:
        """DISC, and the module's answer waited for (bounded); idempotent."""
        if self._ended is None:
            await self._host.close_dlc(self)
        self.end(DlcClosedError(f"DLC {self.dlci} is closed"))
        await trio.lowlevel.checkpoint()

    # -- signals -----------------------------------------------------------------

    def set_signals(self, *, dtr: bool = True, rts: bool = True) -> None:
        """Send our DTR and RTS for this DLC (an MSC).  With ``AT&D1`` a module
        leaves data mode on this DLC when DTR drops."""
        self._check_send()
        self.signals = (V24.RTC if dtr else V24.NONE) | (V24.RTR if rts else V24.NONE)
        self._host.send_signals(self)

    async def wait_peer_signals(self, wanted: V24, present: bool = True) -> None:
        """Until the module's signals for this DLC have (or, ``present=False``,
        lack) every bit of ``wanted``."""
        def settled() -> bool:
            found = self.peer_signals & wanted
            return found == wanted if present else not found

        while not settled():
            if self._ended is not None:
                raise self._ended
            await self._changed.park()

    def _check_send(self) -> None:
        if self._ended is not None:
            raise self._ended
        if self._send_broken:
            raise DlcClosedError(f"DLC {self.dlci}: an earlier send was cancelled part way")
