"""``SslSocket``: one module TLS socket as a ``trio.abc.Stream``.

Buffer access mode (manual 1.3, 2.1.3, 2.1.4):

* ``send_all`` cuts the data into fixed-length ``AT+QSSLSEND=<id>,<len>``
  chunks of at most ``MAX_SEND`` (1460) bytes (the fixed-length form carries any byte,
  0x1A and 0x1B included).  ``SEND FAIL`` means the module's send buffer is
  full: the same chunk is sent again after a backoff, so no byte is lost or
  reordered.  A chunk still refused after ``send_stall_timeout`` seconds
  raises ``SendStalled`` and fails the socket for good.
* ``receive_some`` issues ``AT+QSSLRECV`` only when the caller asks, so a
  caller that stops reading stops the reads, the module buffer fills and
  the server's TCP window closes: backpressure end to end.  It reads until
  the module's buffer is empty (``+QSSLRECV: 0``, or fewer bytes than
  asked) before it waits for the next ``+QSSLURC: "recv"`` (a
  notification, not a byte count), and returns ``b""`` once the peer
  closed and everything buffered was delivered.  No URC is load-bearing: a
  quiet reader polls, with backoff (``modem.urc_watch``).
* ``aclose`` sends ``AT+QSSLCLOSE`` and returns the client ID to the pool.

The socket holds no data of its own beyond the chunk in flight, and at
most one ``AT+QSSLRECV`` sent ahead after a full read (``AtChannel``'s
``then``): its 1500 bytes wait in the channel's response for the next
``receive_some``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import trio

from . import commands
from . import events as ev
from .at_command import Command
from .channel import Ahead, AtChannel, Response
from .errors import ModemError, SendStalled, SocketClosed, map_exceptions
from .limits import MAX_RECV, MAX_SEND
from .urc_watch import RearmBehaviour, UrcHealth, UrcPolling

log = logging.getLogger("modem.socket")

SEND_STALL_TIMEOUT = 120.0  # seconds a chunk may wait for room in the module's send buffer
CLOSE_TIMEOUT = 1  # seconds the module may spend flushing on AT+QSSLCLOSE
RECHECK_AFTER_SHORT_READ = UrcPolling().read_poll_first
"""Seconds of quiet before a waiting reader first reads anyway (``modem.urc_watch``)."""
STATE_CONNECTED = 2  # <socket_state> of +QSSLSTATE (manual 2.1.6)
STATE_GONE = -1  # AT+QSSLSTATE=<id> answered OK and listed no such socket
STATE_UNKNOWN = -2  # AT+QSSLSTATE=<id> answered no OK, or nothing we could read


class SslSocket(trio.abc.Stream):
    """A connected module socket; made by ``Modem.open_ssl_socket``."""

    def __init__(
        self,
        channel: AtChannel,
        client_id: int,
        host: str,
        port: int,
        *,
        error_of: Callable[[AtChannel, Response, str], Awaitable[ModemError]],
        on_close: Callable[[SslSocket, bool], None],
        send_stall_timeout: float = SEND_STALL_TIMEOUT,
        health: UrcHealth | None = None,
    ) -> None:
        self.client_id = client_id
        self.host = host
        self.port = port
        self.bytes_sent = 0
        self.bytes_received = 0
        self.send_fails = 0
        self._channel = channel
        self._error_of = error_of
        self._on_close = on_close
        self._send_stall_timeout = send_stall_timeout
        self._wakeup = trio.Event()
        self._recv_hint = False
        self._more = False
        self._health = health or UrcHealth()
        self._short_unconfirmed = False  # the last read was short; no URC since
        self._polling = False  # the next read is a poll, not asked for by a URC
        self._quiet_polls = 0
        self._peer_closed = False
        self._failure: ModemError | None = None
        self._closed = False
        self._sending = False
        self._receiving = False
        self._ahead: Ahead | None = None  # a full read's successor, sent ahead
        self._spill = b""  # what a read ahead got beyond a smaller max_bytes

    def __repr__(self) -> str:
        return f"<SslSocket id={self.client_id} {self.host}:{self.port}>"

    # -- notifications from the modem's URC router ---------------------------

    def _wake(self) -> None:
        self._wakeup.set()
        self._wakeup = trio.Event()

    def notify_recv(self) -> None:
        """``+QSSLURC: "recv",<id>``."""
        self._recv_hint = True
        self._wake()

    def notify_closed(self) -> None:
        """``+QSSLURC: "closed",<id>``: drain what is buffered, then end of stream."""
        self._peer_closed = True
        self._recv_hint = True
        self._wake()

    def fail(self, failure: ModemError) -> None:
        """The socket is gone (module lost, PDP context dropped...)."""
        if self._failure is None:
            self._failure = failure
        self._wake()

    @property
    def peer_closed(self) -> bool:
        return self._peer_closed

    @property
    def failure(self) -> ModemError | None:
        return self._failure

    # -- trio.abc.Stream -----------------------------------------------------

    def _check_usable(self) -> None:
        if self._closed:
            raise trio.ClosedResourceError("socket was closed")
        if self._failure is not None:
            raise self._failure

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if self._sending:
            raise trio.BusyResourceError("another task is sending on this socket")
        self._sending = True
        try:
            self._check_usable()
            view = memoryview(data)
            for offset in range(0, len(view), MAX_SEND):
                await self._send_chunk(bytes(view[offset:offset + MAX_SEND]))
            if not view:
                await trio.lowlevel.checkpoint()
        finally:
            self._sending = False

    async def _send_chunk(self, chunk: bytes) -> None:
        with (map_exceptions({trio.TooSlowError: self._stalled}),
              trio.fail_after(self._send_stall_timeout)):
            await self._send_until_taken(chunk)

    def _stalled(self, exc: Exception) -> SendStalled:
        """The stall limit cut a send short: the socket fails for good."""
        stalled = SendStalled(self.client_id, self._send_stall_timeout)
        self.fail(stalled)
        return stalled

    async def _send_until_taken(self, chunk: bytes) -> None:
        backoff = 0.005
        while True:
            self._check_usable()
            resp = await self._run(commands.qsslsend(self.client_id, len(chunk)), chunk)
            if isinstance(resp.final, ev.SendOk):
                self.bytes_sent += len(chunk)
                return
            if not isinstance(resp.final, ev.SendFail):
                if self._failure is not None:
                    raise self._failure
                if self._peer_closed:
                    raise SocketClosed(command=f"send on socket {self.client_id}")
                raise await self._error_of(self._channel, resp, "AT+QSSLSEND")
            # Module send buffer full: nothing was taken; try the same bytes again.
            self.send_fails += 1
            await trio.sleep(backoff)
            backoff = min(backoff * 2, 0.25)

    async def _run(self, command: Command, payload: bytes | None = None) -> Response:
        """Run a data command; any failure fails the socket for good.

        After a timeout or a framing error nobody knows whether the module
        took the chunk or consumed the data it answered with, so the stream
        cannot continue without risking loss or duplication.
        """
        try:
            return await self._channel.run(command, payload)
        except ModemError as exc:
            self.fail(exc)
            raise

    async def wait_send_all_might_not_block(self) -> None:
        await trio.lowlevel.checkpoint()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if max_bytes is not None and max_bytes < 1:
            raise ValueError("max_bytes must be at least 1")
        if self._receiving:
            raise trio.BusyResourceError("another task is receiving on this socket")
        self._receiving = True
        try:
            want = MAX_RECV if max_bytes is None else min(max_bytes, MAX_RECV)
            while True:
                self._check_usable()
                if self._spill:  # a read ahead for more than this caller asks
                    data, self._spill = self._spill[:want], self._spill[want:]
                    self.bytes_received += len(data)
                    await trio.lowlevel.checkpoint()
                    return data
                if self._recv_hint or self._more:
                    by_urc = self._recv_hint
                    self._recv_hint = False
                    data = await self._read(want)
                    self._after_read(data, want, by_urc)
                    if data:
                        self.bytes_received += len(data)
                        return data
                    continue
                if self._peer_closed:
                    await trio.lowlevel.checkpoint()
                    return b""
                await self._wait_for_data()
        finally:
            self._receiving = False

    def _after_read(self, data: bytes, want: int, by_urc: bool) -> None:
        """What the next read waits for, after a read that got ``data``.

        A full read reads again at once.  A short one (manual 3.3.3 reads
        once, too) leaves the buffer empty: the next read waits for the URC,
        except on firmware that re-arms it only after an empty read
        (``urc_watch.RearmBehaviour``), where one empty read follows at once.
        """
        if data:
            self._quiet_polls = 0
        urc_came = by_urc or self._recv_hint  # a URC may land while the read runs
        if self._polling and data:
            self._health.note_data_by_poll(self._short_unconfirmed and not urc_came)
        self._polling = False
        short = 0 < len(data) < want
        self._short_unconfirmed = short
        self._more = len(data) == want or (short and self._health.rearm is RearmBehaviour.EMPTY)

    async def _wait_for_data(self) -> None:
        """Until a URC or a failure wakes us, or the quiet ends in a poll.

        No URC is load-bearing (``modem.urc_watch``): after the poll gap the
        reader reads anyway, and every ``state_check_every``-th poll that
        found nothing asks ``AT+QSSLSTATE``, which finds a lost "closed".
        """
        polling = self._health.polling
        gap = polling.read_poll_first * 2 ** min(self._quiet_polls, 16)
        with trio.move_on_after(min(gap, max(polling.read_poll_max, polling.read_poll_first))):
            await self._wakeup.wait()
            return
        self._quiet_polls += 1
        if self._quiet_polls % polling.state_check_every == 0 and await self._peer_gone():
            return
        self._more = True
        self._polling = True

    async def _peer_gone(self) -> bool:
        """``AT+QSSLSTATE=<id>``: True (and the socket ends after its data) when
        the module no longer holds it connected; a failed check says nothing."""
        try:
            state = await socket_state(self._channel, self.client_id)
        except ModemError as exc:
            self.fail(exc)
            raise
        if state in (STATE_CONNECTED, STATE_UNKNOWN):
            return False
        log.info("socket %d: peer closed (found by polling, the URC never came) state=%s",
                 self.client_id, "gone" if state == STATE_GONE else state)
        self._health.note_close_by_poll()
        self._peer_closed = True
        self._more = True  # read what is still buffered, then end of stream
        return True

    async def _read(self, want: int) -> bytes:
        ahead, self._ahead = self._ahead, None
        then = self._read_ahead if want == MAX_RECV else None
        try:
            if ahead is None:
                resp = await self._channel.run(commands.qsslrecv(self.client_id, want),
                                               then=then)
            else:
                resp = await self._channel.collect(ahead, then=then)
        except ModemError as exc:
            self.fail(exc)
            raise
        self._ahead = resp.ahead
        if resp.ok:
            data = resp.payload or b""
            data, self._spill = data[:want], data[want:]
            return data
        if self._failure is not None:
            raise self._failure
        # The error first: the state query may reset what AT+QIGETERROR reports.
        error = await self._error_of(self._channel, resp, "AT+QSSLRECV")
        if self._channel.failure is None and (self._peer_closed or await self._peer_gone()):
            return b""  # a closing socket may refuse reads once its buffer is empty
        raise error

    def _read_ahead(self, resp: Response) -> Command | None:
        """After a full read the module likely holds more: read again at once,
        while our caller hands this data on (one read, 1500 bytes, ahead)."""
        if resp.ok and resp.payload is not None and len(resp.payload) == MAX_RECV \
                and not self._closed and self._failure is None:
            return commands.qsslrecv(self.client_id, MAX_RECV)
        return None

    async def aclose(self) -> None:
        """Close the module socket (``AT+QSSLCLOSE``) and give the client ID back.

        When the module did not confirm the close, the driver keeps the ID
        out of the pool and closes it again later.

        Safe to call more than once and from a cancelled scope: the close
        itself is shielded and bounded.
        """
        if self._closed:
            await trio.lowlevel.checkpoint()
            return
        self._closed = True
        self._wake()
        closed = False
        try:
            with trio.CancelScope(shield=True):
                closed = await close_client_id(self._channel, self.client_id,
                                               0 if self._failure else CLOSE_TIMEOUT)
        finally:
            self._on_close(self, closed)


async def close_client_id(channel: AtChannel, client_id: int, close_timeout: int = 0) -> bool:
    """``AT+QSSLCLOSE`` on a live channel, bounded.

    True when the module answered (``OK``, or ``ERROR`` for an ID that is
    not in use), so the ID is free on the module; False when nobody knows
    (no answer in time, or the channel broke).
    """
    if channel.failure is not None:
        return False
    cmd = commands.qsslclose(client_id, close_timeout)
    with trio.move_on_after(cmd.timeout + 1):
        try:
            resp = await channel.run(cmd)
        except ModemError as exc:
            log.debug("close of socket %d failed: %s", client_id, exc)
            return False
        return resp.final is not None
    return False


async def socket_state(channel: AtChannel, client_id: int) -> int:
    """``AT+QSSLSTATE=<id>`` (manual 2.1.6): the socket's ``<socket_state>``,
    ``STATE_GONE`` when the module lists no such socket, ``STATE_UNKNOWN``
    when it did not answer ``OK``.  Lines that do not parse are skipped (the
    address and AT port fields differ between firmware)."""
    resp = await channel.run(commands.qsslstate(client_id))
    if not resp.ok:
        return STATE_UNKNOWN
    for line in resp.lines:
        try:
            parsed = commands.parse_qsslstate(line)
        except ValueError:
            continue
        if parsed.client_id == client_id:
            return parsed.state
    return STATE_UNKNOWN if resp.lines else STATE_GONE
