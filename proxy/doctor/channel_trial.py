"""The doctor's ``transparent`` check: a channel lent and given back on the user's module.

What the proxy assumes of a module run with ``--channels cmux`` (or
``ports``) and ``--rtscts``, and cannot check without one at hand: that
``AT+QISWTMD=<id>,2`` on a channel of its own moves an open TLS socket to
transparent mode there, and that ``+++`` with its guard times brings it
back with the socket open and every channel in step (manual 1.3;
docs/reliability.md, "Transparent mode").  After the ``tls`` check opened
its socket on the channels the proxy would use, this check does exactly
what a bulk upload does (``TransparentSocket.enter``, then ``leave``), and
sends the server nothing.  A module that refuses the mode passes (the
proxy then keeps uploads on ``AT+QSSLSEND``); one that takes it and does
not come back as it should fails, with what to set instead.
"""

from __future__ import annotations

import time

from modem.core.channel_plan import ChannelKind, ChannelMode
from modem.core.errors import ModemError
from modem.driver import Modem
from modem.link.channel import AtChannel
from modem.sockets.ssl_socket import SslSocket
from modem.sockets.transparent_channels import LifeChannels
from modem.sockets.transparent_socket import SocketMode, TransparentSocket

from .report import CheckResult, Outcome, failed

__all__ = ["NAME", "transparent_check"]

NAME = "transparent"
INSTEAD = ('the proxy would reset such connections: set transparent = "never" on the maps, '
           "or run --channels single")


class _Recorded(LifeChannels):
    """``LifeChannels`` that remembers the name of the channel it lent."""

    lent: str | None = None

    def borrow(self) -> AtChannel | None:
        channel = super().borrow()
        if channel is not None:
            self.lent = channel.name
        return channel


async def transparent_check(modem: Modem, sock: SslSocket, channels: ChannelMode,
                            rtscts: bool) -> CheckResult:
    """Lend ``sock`` a channel for transparent mode and take it back (see the module
    docstring); SKIP where the proxy would lend nothing."""
    if channels is ChannelMode.SINGLE:
        return CheckResult(NAME, Outcome.SKIP, "--channels single: the proxy lends no channel")
    if not rtscts:
        return CheckResult(NAME, Outcome.SKIP, "the proxy lends a channel only on a line with "
                           "flow control (--rtscts)")
    book = modem.channel_book
    if book.kind not in (ChannelKind.CMUX, ChannelKind.PORTS):
        return CheckResult(NAME, Outcome.SKIP, f"the module runs on one channel: {book.fallback}")
    lender = _Recorded(lambda: modem.channels)
    trial = TransparentSocket(sock, lender)
    start = time.perf_counter()
    try:
        entered = await trial.enter()
        if entered:
            await trial.leave()
    except ModemError as exc:
        return failed(NAME, exc, INSTEAD)
    took = time.perf_counter() - start
    if lender.lent is None:
        return CheckResult(NAME, Outcome.SKIP, f"no {book.kind.value} channel was free to lend")
    if not entered:
        return CheckResult(NAME, Outcome.PASS, f"the module refused transparent mode on "
                           f"{lender.lent}: uploads stay on AT+QSSLSEND (nothing to do)")
    if sock.failure is not None or trial.mode is not SocketMode.COMMANDS:
        why = sock.failure if sock.failure is not None else f"left in {trial.mode.value}"
        return CheckResult(NAME, Outcome.FAIL, f"transparent mode on {lender.lent} did not "
                           f"end as it should ({why})", INSTEAD)
    return CheckResult(NAME, Outcome.PASS, f"the socket moved to {lender.lent} in transparent "
                       f"mode and back (+++, the end proven) in {took:.1f} s")
