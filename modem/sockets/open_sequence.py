"""The open of one module socket (manual 2.1.2): ``AT+QSSLOPEN`` to a socket that gets its URCs.

Barriers, not guesses (docs/reliability.md, "The rule"):

* every attempt gets a fresh ``SslSocket``, so nothing of an earlier attempt
  (a late push, a late ``"closed"``) can reach the socket that is returned;
* the socket gets its URCs only from the ``+QSSLOPEN: <id>,0`` that opened
  it, or the ``AT+QSSLSTATE`` that found it connected (``SocketTable``);
* ``563`` (Socket identity has been used: the module still holds the ID, a
  close that went unanswered): the ID is closed, and the open tried once
  more only when the module confirmed that close;
* a push-mode open whose first bytes cannot be vouched for (it was resolved
  by polling, so its early pushes went to the port the URCs go to; or the
  line lost its place while it opened) is closed and opened again in buffer
  mode, once, before anyone saw a byte of it;
* an ID whose open failed goes back to the pool only when the module
  confirmed its close; else it stays out until a later close is answered.

The module's word wins (``modem.core.module_word``): an open refused in
access mode 1 is tried in mode 0 (a guess: any refusal of mode 1 that mode 0
does not repeat is taken for the mode's; no log shows firmware that refuses
it); the first push-mode open of a module life asks ``AT+QSSLSTATE=<id>``
unless a push frame came first, and a socket the module holds in buffer mode
is read in buffer mode; an open resolved by polling names the module's AT port,
and URCs are routed there (``AT+QURCCFG="urcport"``).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass

import trio

from modem.bringup.steps import route_urcs
from modem.core import commands
from modem.core.at_command import Command
from modem.core.errors import (
    ModemError,
    OpenOutcomeLost,
    SocketIdentityUsed,
    error_for_code,
    render,
)
from modem.core.log_fields import kv
from modem.core.push_flow import AccessMode
from modem.link.channel import AtChannel
from modem.link.response_errors import error_of
from modem.sockets.socket_commands import NoSocketState, close_client_id, socket_report
from modem.sockets.socket_table import OpenWaiter, SocketTable
from modem.sockets.ssl_socket import SslSocket

__all__ = ["OPEN_NETWORK_TIME", "OpenRequest", "open_socket"]

log = logging.getLogger("modem.driver")

OPEN_NETWORK_TIME = 150  # manual 2.1.2: 150 s plus the negotiate time


@dataclass(frozen=True)
class OpenRequest:
    """What to open: ``host:port`` on ``client_id`` in ``mode``, with SSL
    context ``ssl_context`` over PDP context ``context_id``."""

    client_id: int
    host: str
    port: int
    context_id: int
    ssl_context: int
    negotiate_timeout: int
    mode: AccessMode

    @property
    def what(self) -> str:
        return f"open {self.host}:{self.port}"

    def command(self, mode: AccessMode) -> Command:
        return commands.qsslopen(self.context_id, self.ssl_context, self.client_id, self.host,
                                 self.port, mode.code, self.negotiate_timeout)


MakeSocket = Callable[[AccessMode], SslSocket]
"""A fresh, unopened socket for the request's ID in the given access mode."""


class _Attempt(enum.Enum):
    CONNECTED = "connected"
    IDENTITY_USED = "563: the module still holds the ID"
    UNVERIFIED = "its first bytes cannot be vouched for"
    PUSH_REFUSED = "access mode 1 refused"


async def open_socket(table: SocketTable, channel: AtChannel, request: OpenRequest,
                      make_socket: MakeSocket) -> SslSocket:
    """Open ``request``'s socket (see the module docstring).

    The ID is the caller's until this is called, and this function's after:
    it is the socket's on success, and on failure it is freed (or kept out of
    the pool while its close is unconfirmed).  Raises the manual's typed error,
    ``OpenOutcomeLost``, ``OperationTimeout`` or the channel's failure.
    """
    mode = request.mode
    retried = False
    refusal: list[str] = []  # why access mode 1 was refused, once it was
    while True:
        sock = make_socket(mode)
        waiter = table.begin_open(sock)
        try:
            attempt = await _attempt(table, channel, request, waiter, mode, refusal)
        except BaseException:
            table.end_open(waiter, connected=False)
            await _close(table, channel, request.client_id, free=True)
            raise
        table.end_open(waiter, connected=attempt is _Attempt.CONNECTED)
        if attempt is _Attempt.CONNECTED:
            return sock
        if not await _close(table, channel, request.client_id, free=False):
            raise OpenOutcomeLost(request.what, f"{attempt.value}, and its close went "
                                  "unanswered")
        if attempt is _Attempt.IDENTITY_USED:
            if retried:
                table.release(request.client_id)
                raise SocketIdentityUsed(command=request.what)
            retried = True
        else:
            if attempt is _Attempt.UNVERIFIED:
                log.info("opening it again in buffer mode", extra=kv(
                    id=request.client_id, open=request.what, why=attempt.value))
                table.integrity.reopened_in_buffer_mode += 1
            mode = AccessMode.BUFFER


async def _attempt(table: SocketTable, channel: AtChannel, request: OpenRequest,
                   waiter: OpenWaiter, mode: AccessMode, refusal: list[str]) -> _Attempt:
    """One ``AT+QSSLOPEN`` and its outcome.  ``refusal`` gets why access mode 1
    was refused; an open in mode 0 taken after it teaches the module's word."""
    resp = await channel.run(request.command(mode))
    if not resp.ok:
        exc = await error_of(channel, resp, request.what)
        if isinstance(exc, SocketIdentityUsed):
            return _Attempt.IDENTITY_USED
        if mode is AccessMode.PUSH:
            refusal.append(render(exc))
            return _Attempt.PUSH_REFUSED
        raise exc
    if refusal:
        table.word.note_push_refused_at_open(refusal[-1])
    err = await table.wait_open(channel, waiter, request.client_id,
                                OPEN_NETWORK_TIME + request.negotiate_timeout, request.what)
    if err != 0:
        raise error_for_code(err, request.what)
    if waiter.report is not None:
        await _follow_port(table, channel, waiter.report.at_port)
    if mode is AccessMode.PUSH and (waiter.by_poll or waiter.unverified):
        return _Attempt.UNVERIFIED
    if mode is AccessMode.PUSH and table.word.push_check_due(channel):
        await _check_push(table, channel, waiter.sock)
    return _Attempt.CONNECTED


async def _check_push(table: SocketTable, channel: AtChannel, sock: SslSocket) -> None:
    """The first push-mode open of a module life: is the socket in push mode?  A
    push frame says so; else ``AT+QSSLSTATE``'s ``<access_mode>`` (manual 2.1.6)."""
    if sock.pushed_any:
        table.word.note_push_mode(channel, None)
        return
    report = await socket_report(channel, sock.client_id)
    if isinstance(report, NoSocketState) or report.access_mode is None:
        table.word.note_push_mode(channel, None, answered=False)  # not asked again this life
        return
    table.word.note_push_mode(channel, report.access_mode)
    sock.follow_mode(report)


async def _follow_port(table: SocketTable, channel: AtChannel, at_port: str | None) -> None:
    """An open resolved by polling (its ``+QSSLOPEN`` went to another port): route
    URCs to the port its state line names, once per port learned."""
    port = table.word.note_port(at_port)
    if port is None:
        return
    found = await route_urcs(channel, port, reason="AT+QSSLSTATE names this port")
    table.word.routed(port, done=found in (port, "all"))


async def _close(table: SocketTable, channel: AtChannel, client_id: int, *, free: bool
                 ) -> bool:
    """``AT+QSSLCLOSE`` on an ID that did not open (shielded: also when the open
    was cancelled); True when the module confirmed it.  ``free``: the ID goes back
    to the pool now if confirmed, else waits for a later close."""
    with trio.CancelScope(shield=True):
        try:
            closed = await close_client_id(channel, client_id, 0)
        except ModemError:
            closed = False
    if free or not closed:
        table.free_after_close(client_id, closed, channel)
    return closed
