"""``Pump``: the bytes of one connection, both ways, until it ends, and how it ended.

One task per direction, in a nursery per connection, plus a watcher:

* local -> module: read up to ``READ_SIZE`` bytes, ``send_all`` to the
  module socket (the driver cuts them into ``AT+QSSLSEND`` chunks);
* module -> local: ``receive_some`` on the module socket, ``send_all`` to
  the local stream.  The driver reads only when asked, so a slow local
  reader slows the remote server down (backpressure end to end).

How it ends (``proxy.connections.endings.Ending``; docs/reliability.md has the table):

* the remote closes (``receive_some`` returns ``b""``): everything it sent
  has been written to the local side: a clean end (FIN).  If the module
  no longer listed the socket (``id_lost``) nobody knows that: a reset;
* the local client shuts down its write side (a half-close): the module has
  no half-close, so the pump keeps reading the remote until it closes
  (FIN).  A remote that sends nothing for ``half_close_timeout`` seconds
  after the shutdown or its last byte (HAProxy's ``timeout client-fin`` is
  an inactivity time too) is reset: it never said its answer was complete;
* an error on either side ends both at once; each side's errors are mapped
  once where the pump calls it (``LOCAL_STREAM_ERRORS``,
  ``MODULE_SOCKET_ERRORS``); a module-side failure resets the client;
* idle (``proxy.connections.idle``): the watcher may stop an idle connection, for its
  map's ``idle-timeout`` or to give its socket to a waiter.  It stops the
  two tasks only where they wait and hold no byte, then checks that nothing
  is in flight either way: nothing the client sent is unread (its socket is
  not readable), nothing is left in the module (``drain_for_close``:
  one ``AT+QSSLRECV`` answers ``+QSSLRECV: 0``, manual 2.1.4, after a push
  socket went to buffer mode).  Only then is it a clean end;
  otherwise the bytes found are delivered and pumping resumes.

A connection whose socket may move to a transparent-mode channel has a
``steering`` (``proxy.connections.bulk_steering``): told of each send and of
the half-close, with a third task for its quiet give-back.
"""

from __future__ import annotations

import math
import select
from collections.abc import Awaitable, Callable
from functools import partial

import trio

from modem.core.errors import (
    ExceptionMapping,
    ExplainedError,
    ModemError,
    SendStalled,
    map_exceptions,
    render,
)
from modem.core.limits import MAX_RECV, MAX_SEND
from proxy.config.model import HALF_CLOSE_TIMEOUT
from proxy.connections.bulk_steering import BulkSteering
from proxy.connections.endings import Ending
from proxy.connections.idle import Candidate, IdlePolicy, ReclaimBoard
from proxy.connections.module_socket import ModuleSocket
from proxy.connections.registry import ConnectionRecord, ConnectionState, Registry

READ_SIZE = MAX_SEND * 4
RECEIVE_SIZE = MAX_RECV
NO_IDLE = IdlePolicy(reclaim_after=0, timeout=0)


def failure_key(exc: BaseException) -> str:
    """The status page's key for a failure: the error's own (the manual's code
    for a coded one), else the exception's class name."""
    return exc.failure_key if isinstance(exc, ExplainedError) else type(exc).__name__


class _DirectionEnded(Exception):
    """One direction of the pump is over: ``ending`` says how, ``reason`` why (for
    the log); ``module_failure`` names the failure (``failure_key``) when the
    module side broke."""

    def __init__(self, ending: Ending, reason: str, module_failure: str | None = None) -> None:
        super().__init__(reason)
        self.ending = ending
        self.reason = reason
        self.module_failure = module_failure


def _local_ended(exc: Exception) -> _DirectionEnded:
    return _DirectionEnded(Ending.CLIENT_RESET, "local connection reset")


def _module_failed(exc: Exception) -> _DirectionEnded:
    ending = Ending.SEND_STALLED if isinstance(exc, SendStalled) else Ending.MODULE_FAILED
    if isinstance(exc, ModemError):
        return _DirectionEnded(ending, f"module socket failed: {render(exc)}", failure_key(exc))
    return _DirectionEnded(ending, "module socket closed", failure_key(exc))


# The pump's two boundaries: what each side's stream may raise, mapped once.
LOCAL_STREAM_ERRORS: ExceptionMapping = {
    trio.BrokenResourceError: _local_ended,
    trio.ClosedResourceError: _local_ended,
}
MODULE_SOCKET_ERRORS: ExceptionMapping = {
    ModemError: _module_failed,
    trio.BrokenResourceError: _module_failed,
    trio.ClosedResourceError: _module_failed,
}


def local_has_input(stream: trio.abc.Stream) -> bool:
    """True unless ``stream`` is a socket with nothing to read (no byte, no end):
    a stream we cannot look into may hold bytes."""
    if not isinstance(stream, trio.SocketStream):
        return True
    poller = select.poll()
    poller.register(stream.socket.fileno(), select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


class Pump:
    """Moves bytes both ways between ``local`` and ``remote`` until the connection ends.

    Afterwards ``ending`` says how (``Ending``), ``reason`` why (for the log)
    and ``module_failure`` the failure's status key when the module side broke.
    ``idle`` and ``board`` enable idle closes (``proxy.connections.idle``).
    """

    def __init__(self, local: trio.abc.Stream, remote: ModuleSocket,
                 record: ConnectionRecord, registry: Registry, *,
                 half_close_timeout: float = HALF_CLOSE_TIMEOUT, idle: IdlePolicy = NO_IDLE,
                 board: ReclaimBoard | None = None, steering: BulkSteering | None = None
                 ) -> None:
        self.local = local
        self.remote = remote
        self.record = record
        self.registry = registry
        self.half_close_timeout = half_close_timeout
        self.idle = idle
        self.board = board
        self.steering = steering
        self.ending: Ending | None = None
        self.reason = "cancelled"
        self.module_failure: str | None = None
        self._local_eof = False
        self._in_flight = 0  # directions holding bytes they have not passed on
        self._last_activity = trio.current_time()
        self._changed = trio.Event()
        self._stop: Ending | None = None  # an idle close asked for
        self._idle_unprovable = False  # the module cannot show it holds nothing
        self._stopped_at = 0.0
        self._waits: set[trio.CancelScope] = set()
        self._candidate: Candidate | None = None

    @property
    def module_failed(self) -> bool:
        return self.module_failure is not None

    async def run(self) -> str:
        try:
            while self.ending is None:
                await self._round()
                if self.ending is None and self._stop is not None:
                    await self._finish_idle_stop()
        finally:
            self._withdraw()
        return self.reason

    def _end(self, ended: _DirectionEnded) -> None:
        if self.ending is None:
            self.ending = ended.ending
            self.reason = ended.reason
            self.module_failure = ended.module_failure

    async def _round(self) -> None:
        """Pump until the connection ends or an idle stop parked both directions."""
        self._stop = None
        steering = trio.CancelScope()
        async with trio.open_nursery() as nursery:
            if self.steering is not None:
                nursery.start_soon(self._direction, nursery, partial(self._steer, steering))
            async with trio.open_nursery() as moving:
                if not self._local_eof:
                    moving.start_soon(self._direction, nursery, self._local_to_remote)
                moving.start_soon(self._direction, nursery, self._remote_to_local)
                moving.start_soon(self._direction, nursery, self._watch)
            # An idle stop parks the directions and ends the watcher: the steering
            # watcher, which never ends on its own, goes with them.
            steering.cancel()

    async def _direction(self, nursery: trio.Nursery,
                         move: Callable[[], Awaitable[None]]) -> None:
        """Run one task; the first to end the connection ends them all."""
        try:
            await move()
        except _DirectionEnded as ended:
            self._end(ended)
            nursery.cancel_scope.cancel()

    # -- moving bytes -------------------------------------------------------------

    async def _wait(self, receive: Callable[[], Awaitable[bytes | bytearray]]
                    ) -> bytes | bytearray | None:
        """``receive()``, or None when an idle stop interrupted it before a byte
        was taken.  This relies on both streams being cancel-safe: a
        ``trio.SocketStream`` leaves unread bytes in the kernel, and
        ``SslSocket.receive_some`` returns a read's bytes with no checkpoint
        after its ``AT+QSSLRECV`` (the channel shields a command on the wire
        and hands its result back), so a cancel lands only where no byte is
        held.  A stop that comes too late for a read just lets it deliver."""
        if self._stop is not None:
            return None
        with trio.CancelScope() as scope:
            self._waits.add(scope)
            try:
                return await receive()
            finally:
                self._waits.discard(scope)
        return None

    def _holding(self) -> None:
        self._in_flight += 1
        self._wake()

    def _passed_on(self) -> None:
        self._in_flight -= 1
        self._last_activity = trio.current_time()
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def _local_to_remote(self) -> None:
        counters = self.registry.counters
        while True:
            with map_exceptions(LOCAL_STREAM_ERRORS):
                data = await self._wait(partial(self.local.receive_some, READ_SIZE))
            if data is None:
                return
            if not data:
                self._local_eof = True
                self.record.state = ConnectionState.HALF_CLOSED
                self._last_activity = trio.current_time()
                self._wake()
                if self.steering is not None:
                    with map_exceptions(MODULE_SOCKET_ERRORS):
                        await self.steering.local_closed()
                return
            self._holding()
            with map_exceptions(MODULE_SOCKET_ERRORS):
                await self.remote.send_all(data)
            self.record.bytes_up += len(data)
            counters.bytes_up += len(data)
            self._passed_on()
            if self.steering is not None:
                with map_exceptions(MODULE_SOCKET_ERRORS):
                    await self.steering.sent(len(data), local_has_input(self.local))

    async def _remote_to_local(self) -> None:
        while True:
            with map_exceptions(MODULE_SOCKET_ERRORS):
                data = await self._wait(partial(self.remote.receive_some, RECEIVE_SIZE))
            if data is None:
                return
            if not data:
                raise self._remote_closed()
            self._holding()
            await self._deliver(data)
            self._passed_on()

    async def _deliver(self, data: bytes | bytearray) -> None:
        with map_exceptions(LOCAL_STREAM_ERRORS):
            await self.local.send_all(data)
        self.record.bytes_down += len(data)
        self.registry.counters.bytes_down += len(data)

    def _remote_closed(self) -> _DirectionEnded:
        if self.remote.id_lost:
            return _DirectionEnded(Ending.ID_LOST, "module no longer lists the socket "
                                   "(whether the stream was complete is unknown)", "IdLost")
        if self._local_eof:
            return _DirectionEnded(Ending.HALF_CLOSE_DONE, "local closed, then remote closed")
        return _DirectionEnded(Ending.REMOTE_CLOSED, "remote closed")

    async def _steer(self, scope: trio.CancelScope) -> None:
        assert self.steering is not None
        with scope, map_exceptions(MODULE_SOCKET_ERRORS):
            await self.steering.watch()

    # -- watching: half-close limit, idle -------------------------------------------

    async def _watch(self) -> None:
        """End a half-closed connection whose remote stays quiet too long; ask for
        an idle stop when the map's idle limits say so."""
        idle = self.idle
        while True:
            now = trio.current_time()
            changed = self._changed
            wake_at = math.inf
            if self._in_flight:
                self._withdraw()
            elif self._local_eof:
                limit = self._last_activity + self.half_close_timeout
                if now >= limit:
                    raise _DirectionEnded(
                        Ending.HALF_CLOSE_TIMEOUT, "local closed; the remote sent nothing "
                        f"and did not close for {self.half_close_timeout:g} s")
                wake_at = limit
                if self._offer_for_reclaim(now):
                    wake_at = min(wake_at, self._last_activity + idle.reclaim_after)
                elif self._candidate is not None and self._candidate.asked_by is not None:
                    # A client that closed (rather than shut down) looks the same and
                    # would hold the ID for the whole limit: a waiter needs it more.
                    self._commit()
                    self._candidate = None
                    raise _DirectionEnded(
                        Ending.HALF_CLOSE_RECLAIM, "local closed; the remote sent nothing "
                        f"and did not close for {idle.reclaim_after:g} s while connections "
                        "waited for a module socket")
            elif not self._idle_unprovable:
                if idle.timeout:
                    limit = self._last_activity + idle.timeout
                    if now >= limit:
                        self._request_stop(Ending.IDLE_TIMEOUT)
                        return
                    wake_at = limit
                if self._offer_for_reclaim(now):
                    wake_at = min(wake_at, self._last_activity + idle.reclaim_after)
                elif self._candidate is not None and self._candidate.asked_by is not None:
                    self._request_stop(Ending.IDLE_RECLAIM)
                    return
            with trio.move_on_at(wake_at):
                await changed.wait()

    def _offer_for_reclaim(self, now: float) -> bool:
        """Offer this connection to waiters once it has been idle for its map's
        ``idle-reclaim``; True while that time has not come yet."""
        reclaim_after = self.idle.reclaim_after
        if not reclaim_after or self.board is None:
            return False
        if now < self._last_activity + reclaim_after:
            return True
        if self._candidate is None:
            self._candidate = Candidate(self.record.mapping, self._last_activity, self._wake)
            self.board.offer(self._candidate)
        return False

    def _withdraw(self) -> None:
        if self._candidate is not None and self.board is not None:
            self.board.withdraw(self._candidate)
        self._candidate = None

    def _commit(self) -> None:
        if self._candidate is not None and self.board is not None:
            self.board.commit(self._candidate)

    def _request_stop(self, kind: Ending) -> None:
        """Interrupt both directions where they wait (neither holds a byte)."""
        self._stop = kind
        self._stopped_at = self._last_activity
        self._commit()
        for scope in self._waits:
            scope.cancel()

    def _resume(self) -> None:
        """An idle stop fell through: pump on, the idle time counted afresh (so the
        next round moves what was found before the watcher looks again)."""
        self._withdraw()
        self._last_activity = max(self._last_activity, trio.current_time())

    async def _finish_idle_stop(self) -> None:
        """Both directions are parked: end cleanly if nothing is in flight, else
        deliver what was found and pump on."""
        kind = self._stop
        assert kind is not None
        if (self._last_activity != self._stopped_at or self._local_eof
                or local_has_input(self.local)):
            self._resume()
            return
        try:
            with map_exceptions(MODULE_SOCKET_ERRORS):
                data = await self.remote.drain_for_close(RECEIVE_SIZE)
            if data is None:  # the module cannot show it holds nothing: never idle-close
                self._idle_unprovable = True
                self._resume()
                return
            if data:
                self._resume()
                self._holding()
                await self._deliver(data)
                self._passed_on()
                return
        except _DirectionEnded as ended:
            self._end(ended)
            return
        if self.remote.peer_closed:
            self._resume()  # the next round reads the end of stream
            return
        self._candidate = None  # committed: its waiter gets the ID
        limit = self.idle.timeout if kind is Ending.IDLE_TIMEOUT else self.idle.reclaim_after
        self._end(_DirectionEnded(kind, f"idle for {limit:g} s with nothing in flight"
                                  + (", socket given to a waiting connection"
                                     if kind is Ending.IDLE_RECLAIM else "")))
