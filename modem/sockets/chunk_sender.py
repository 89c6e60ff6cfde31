"""``ChunkSender``: the sending half of an ``SslSocket`` (manual 2.1.3).

``send_all`` cuts the data into fixed-length ``AT+QSSLSEND=<id>,<len>``
chunks of at most ``MAX_SEND`` (1460) bytes (the fixed-length form carries
any byte, 0x1A and 0x1B included).  ``SEND FAIL`` means the module's send
buffer is full: the same chunk is sent again after a backoff, so no byte is
lost or reordered.  A chunk still refused after ``stall_timeout`` seconds
raises ``SendStalled`` and fails the socket for good.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import trio

from modem.core import commands
from modem.core import events as ev
from modem.core.at_command import Command
from modem.core.errors import ModemError, SendStalled, SocketClosed, map_exceptions
from modem.core.limits import MAX_SEND
from modem.link.answers import Response
from modem.link.channel import AtChannel
from modem.link.conflict import OneTaskAtATime
from modem.sockets.socket_life import SocketLife

__all__ = ["ChunkSender"]

Run = Callable[[Command, bytes | None], Awaitable[Response]]
"""A data command whose failure fails the socket (``SslSocket._run``)."""
ErrorOf = Callable[[AtChannel, Response, str], Awaitable[ModemError]]


class ChunkSender:
    """Sends one socket's bytes; ``bytes_sent`` and ``send_fails`` count them."""

    def __init__(self, channel: AtChannel, client_id: int, life: SocketLife, run: Run,
                 error_of: ErrorOf, stall_timeout: float) -> None:
        self.client_id = client_id
        self.stall_timeout = stall_timeout
        self.bytes_sent = 0
        self.send_fails = 0
        """Chunks sent again after ``SEND FAIL``."""
        self._channel = channel
        self._life = life
        self._run = run
        self._error_of = error_of
        self._sending = OneTaskAtATime("another task is sending on this socket")

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        with self._sending:
            self._life.check_usable()
            view = memoryview(data)
            for offset in range(0, len(view), MAX_SEND):
                await self._send_chunk(bytes(view[offset:offset + MAX_SEND]))
            if not view:
                await trio.lowlevel.checkpoint()

    async def _send_chunk(self, chunk: bytes) -> None:
        with (map_exceptions({trio.TooSlowError: self._stalled}),
              trio.fail_after(self.stall_timeout)):
            await self._send_until_taken(chunk)

    def _stalled(self, exc: Exception) -> SendStalled:
        """The stall limit cut a send short: the socket fails for good."""
        stalled = SendStalled(self.client_id, self.stall_timeout)
        self._life.fail(stalled)
        return stalled

    async def _send_until_taken(self, chunk: bytes) -> None:
        backoff = 0.005
        while True:
            self._life.check_usable()
            resp = await self._run(commands.qsslsend(self.client_id, len(chunk)), chunk)
            if isinstance(resp.final, ev.SendOk):
                self.bytes_sent += len(chunk)
                return
            if not isinstance(resp.final, ev.SendFail):
                if self._life.failure is not None:
                    raise self._life.failure
                if self._life.peer_closed:
                    raise SocketClosed(command=f"send on socket {self.client_id}")
                raise await self._error_of(self._channel, resp, "AT+QSSLSEND")
            # Module send buffer full: nothing was taken; try the same bytes again.
            self.send_fails += 1
            await trio.sleep(backoff)
            backoff = min(backoff * 2, 0.25)
