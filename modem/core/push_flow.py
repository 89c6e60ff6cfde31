"""Direct push mode with backpressure: one socket's pushed bytes and its mode.

Sans-I/O: ``SslSocket`` drives it (``modem.sockets.ssl_socket``); this module only
keeps the bytes and decides.

In direct push mode (manual 1.3 item 2, 2.2.1) the module writes what it
receives as ``+QSSLURC: "recv",<id>,<len>`` CR LF and len bytes, unasked:
nothing stops it while the local reader is slow, so the host would buffer
without bound (hosts that do run out of memory: e.g. RT-Thread at_device
issue #84, "no memory for ... URC receive buffer" under a burst of pushed
data). So
a socket keeps what was pushed in an ``PushInbox`` and:

* once the inbox holds more than ``limit`` bytes (64 KiB by default), the
  socket asks for ``AT+QISWTMD=<id>,0`` (buffer access mode, manual 1.3): the
  module then keeps further data in its own buffer, whose fill closes the
  server's TCP window;
* pushes that were on their way when the switch was asked are still taken,
  in order, and handed out before anything read with ``AT+QSSLRECV``;
* once the reader has emptied the inbox and either an ``AT+QSSLRECV`` found
  the module's buffer empty (a short or empty read) or the reader took a
  whole ``limit`` with ``AT+QSSLRECV`` since the switch, the socket asks for
  ``AT+QISWTMD=<id>,1`` and the module pushes again: what its buffer holds
  first (the manual is silent on this moment; pushing the buffer is the
  emulator's guess, ``docs/emulator.md``).

Memory bound per connection: ``hard_limit`` = ``HARD_LIMIT_FACTOR`` (16) x
``limit`` + one push frame (``modem.core.protocol.MAX_PUSH_PAYLOAD``), 1,052,672
bytes by default (12.6 MB for 12 connections). The switch normally lands a
frame or two past ``limit``: pushes after the request last as long as the
switch waits for the line, which a 1 s ``AT+QSSLCLOSE`` of another socket
can stretch to 300 KB at 3 Mbaud; the hard limit leaves room for that, and
a socket whose pushes pass it fails with ``PushOverrun`` rather than grow.
"""

from __future__ import annotations

import enum
from collections import deque

from modem.core.protocol import MAX_PUSH_PAYLOAD

__all__ = ["DEFAULT_PUSH_LIMIT", "HARD_LIMIT_FACTOR", "AccessMode", "PushInbox", "PushState"]

DEFAULT_PUSH_LIMIT = 64 * 1024
"""Bytes pushed but not yet taken by the reader before a socket asks for buffer mode."""
HARD_LIMIT_FACTOR = 16
"""``PushInbox.hard_limit`` in units of the limit (plus one frame)."""


class AccessMode(enum.StrEnum):
    """``<access_mode>`` of ``AT+QSSLOPEN`` the driver opens sockets in (manual 2.1.2)."""

    BUFFER = "buffer"
    PUSH = "push"

    @property
    def code(self) -> int:
        """The manual's number: 0 buffer access mode, 1 direct push mode."""
        return 0 if self is AccessMode.BUFFER else 1


class PushState(enum.Enum):
    """Where a push-mode socket's module side stands."""

    PUSH = "push"
    """The module pushes; reads wait for pushes."""
    TO_BUFFER = "switching to buffer"
    """``AT+QISWTMD=<id>,0`` asked or in flight; pushes may still come."""
    BUFFER = "buffer"
    """The module buffers: after the inbox, reads use ``AT+QSSLRECV``."""
    TO_PUSH = "switching to push"
    """``AT+QISWTMD=<id>,1`` in flight (the reader's own task runs it)."""

    @property
    def module_pushes(self) -> bool:
        """The module pushes, or may still (``PUSH``, ``TO_BUFFER``): reads wait for pushes."""
        return self in (PushState.PUSH, PushState.TO_BUFFER)


class PushInbox:
    """Pushed bytes not yet taken, in arrival order, and the socket's ``PushState``."""

    def __init__(self, limit: int = DEFAULT_PUSH_LIMIT) -> None:
        if limit < 1:
            raise ValueError("push limit must be at least 1 byte")
        self.limit = limit
        self.hard_limit = HARD_LIMIT_FACTOR * limit + MAX_PUSH_PAYLOAD
        self.state = PushState.PUSH
        self.peak = 0
        """The most bytes held at once (the measurement of the bound)."""
        self.switches = 0
        """Completed switches to buffer mode (each one a reader that fell behind)."""
        self.returns = 0
        """Completed switches back to push mode (each one a reader that caught up)."""
        self.read_in_buffer_mode = 0
        """Bytes read with ``AT+QSSLRECV`` since the last switch to buffer mode."""
        self.switch_refused = False
        """The module refused a switch: stay where it left us, do not ask again."""
        self._chunks: deque[bytes] = deque()
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def add(self, data: bytes) -> bool:
        """Keep ``data``; False when it would pass ``hard_limit`` (nothing kept)."""
        if self._size + len(data) > self.hard_limit:
            return False
        if data:
            self._chunks.append(data)
            self._size += len(data)
            self.peak = max(self.peak, self._size)
        return True

    def take(self, max_bytes: int) -> bytes:
        """Up to ``max_bytes`` of the oldest bytes (b"" when empty)."""
        out = bytearray()
        while self._chunks and len(out) < max_bytes:
            head = self._chunks[0]
            room = max_bytes - len(out)
            if len(head) <= room:
                out += self._chunks.popleft()
            else:
                out += head[:room]
                self._chunks[0] = head[room:]
        self._size -= len(out)
        return bytes(out)

    def clear(self) -> None:
        self._chunks.clear()
        self._size = 0

    def should_switch_to_buffer(self) -> bool:
        """The reader fell behind: ask the module to buffer (once per episode)."""
        return (self.state is PushState.PUSH and self._size > self.limit
                and not self.switch_refused)

    def may_switch_to_push(self, module_buffer_empty: bool) -> bool:
        """The reader caught up: it waits on an empty inbox, and either a read
        showed the module's buffer empty (``+QSSLRECV: 0``) or the reader took a
        whole ``limit`` from it since the switch (it keeps pace; the rest is
        pushed, and what firmware might keep unpushed is read at once after the
        switch: ``PushReceiver.switch_to_push``)."""
        return (self.state is PushState.BUFFER and not self._size and not self.switch_refused
                and (module_buffer_empty or self.read_in_buffer_mode >= self.limit))
