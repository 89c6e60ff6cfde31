"""The two commands an ``SslSocket`` runs about itself besides data:
``AT+QSSLCLOSE`` (manual 2.1.5) and ``AT+QSSLSTATE=<id>`` (manual 2.1.6),
each bounded and mapped to a small result; and the barrier after a close on
several channels (``close_and_catch_up``)."""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable

import trio

from modem.core import commands
from modem.core.errors import ModemError
from modem.core.log_fields import kv
from modem.link.channel import AtChannel

log = logging.getLogger("modem.socket")


class NoSocketState(enum.Enum):
    """What ``AT+QSSLSTATE=<id>`` said when it gave no ``<socket_state>``
    (neither is a state of the manual)."""

    NOT_LISTED = "not listed"
    """It answered ``OK`` and listed no such socket."""
    UNREADABLE = "unreadable"
    """It did not answer ``OK``, or listed nothing we could read: it says nothing."""


StateAnswer = commands.SocketState | int | NoSocketState
"""``socket_state``'s result: a ``SocketState`` (or the plain number of a state
the manual does not list), or why there is none."""


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
            log.debug("close of socket failed", extra=kv(id=client_id, error=str(exc)))
            return False
        return resp.final is not None
    return False


async def close_and_catch_up(control: AtChannel, client_id: int, close_timeout: int,
                             others: Iterable[AtChannel]) -> bool:
    """``AT+QSSLCLOSE`` on ``control``, then ``AT`` answered on each of ``others`` (the
    channels the socket's sends and reads went on); True when all were answered.

    Nothing orders a module's channels: a command of the socket still on its way on
    another channel (a read sent ahead, a mode switch queued there) could run after the
    close, and after the next open of its ID, and take that socket's bytes (shown on a
    DLC that reads late: ``tests/driver/test_channels.py``).  On one channel the module
    answers in order, so each ``AT``'s answer comes after theirs: only then may the ID
    go back to the pool.  False (a channel broke or did not answer) keeps it out until
    a later close.
    """
    if not await close_client_id(control, client_id, close_timeout):
        return False
    at = commands.at()
    for channel in {id(c): c for c in others if c is not control}.values():
        with trio.move_on_after(at.timeout + 1):  # its turn on a busy channel too
            try:
                await channel.run(at)
                continue
            except ModemError as exc:
                log.debug("no answer after a close", extra=kv(
                    id=client_id, error=str(exc), channel=channel.name))
        return False
    return True


Report = commands.SslSocketState | NoSocketState
"""``socket_report``'s result: the socket's state line, or why there is none."""


async def socket_report(channel: AtChannel, client_id: int) -> Report:
    """``AT+QSSLSTATE=<id>`` (manual 2.1.6): the socket's whole state line (its
    ``<socket_state>``, ``<access_mode>``, ``<AT_port>``...), or ``NoSocketState``.
    Lines that do not parse are skipped (the address and AT port fields differ
    between firmware)."""
    resp = await channel.run(commands.qsslstate(client_id))
    if not resp.ok:
        return NoSocketState.UNREADABLE
    for line in resp.lines:
        try:
            parsed = commands.parse_qsslstate(line)
        except ValueError:
            continue
        if parsed.client_id == client_id:
            return parsed
    return NoSocketState.UNREADABLE if resp.lines else NoSocketState.NOT_LISTED


def state_of(report: Report) -> StateAnswer:
    """A ``socket_report``'s ``<socket_state>`` (or why there is none)."""
    return report if isinstance(report, NoSocketState) else report.state


async def socket_state(channel: AtChannel, client_id: int) -> StateAnswer:
    """``socket_report``'s ``<socket_state>`` alone."""
    return state_of(await socket_report(channel, client_id))
