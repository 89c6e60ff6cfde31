"""Transparent access mode (manual 1.3): an AT port carries one socket's raw bytes.

``CONNECT`` starts it.  Host bytes go to the socket (reading stops while its
send buffer is full), socket bytes go to the host as they come.  It ends:

* on ``+++`` when the host was silent for the guard time before it, typed
  the three plus signs within the guard time and stayed silent for the
  guard time after: the module answers ``OK`` and the socket stays open in
  buffer mode (``ATO`` / ``AT+QISWTMD=<id>,2`` return);
* on a DTR drop (an MSC on a DLC of the multiplexer): with ``AT&D1`` as
  ``+++`` (the manual's other way out, 1.3); with ``AT&D2`` (V.25ter:
  "disconnect") the socket is closed and ``NO CARRIER`` follows, a guess:
  the SSL manual names only ``&D1``; with ``AT&D0`` DTR is ignored;
* when the peer closes: whatever was received is delivered, then
  ``NO CARRIER`` (``no_carrier_with_data``: at once, what is left stays in
  the buffer for ``AT+QSSLRECV``);
* when the socket is closed from another port (``AT+QSSLCLOSE``): ``NO CARRIER``.

After the ``+++`` socket data keeps going to the host until the ``OK``
(``output_during_escape``; False holds it in the buffer from the third plus
sign on); ``escape_no_carrier`` answers the escape with ``NO CARRIER``
though the socket stays open.  A port in ``transparent_refused`` answers ``ERROR`` instead
(``refused``).  URCs meant for this port wait until the mode ends; other
ports (another USB port, another DLC) go on with commands and URCs meanwhile.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

import trio

from .at_port import DTR_HANG_UP, DTR_IGNORED, AtPort
from .manual import NOT_SUPPORTED
from .responses import CONNECT, NO_CARRIER, OK
from .ssl_sockets import AccessMode

if TYPE_CHECKING:
    from .config import EmulatorConfig
    from .module import Module
    from .ssl_sockets import SslSocket

ESCAPE = b"+++"


class _Exit(enum.Enum):
    ESCAPED = "escaped"  # +++, or DTR with AT&D1: the socket stays open
    HUNG_UP = "hung up"  # DTR with AT&D2: the socket closes
    PEER_CLOSED = "peer closed"


def refused(module: Module, port: AtPort) -> bool:
    """Whether ``port`` refuses transparent mode (``transparent_refused``); sets
    the error ``AT+QIGETERROR`` reports."""
    refused_on = module.config.transparent_refused
    if port.name in refused_on or ("dlc" in refused_on and port.dlci is not None):
        module.last_error = NOT_SUPPORTED
        return True
    return False


class _Session:
    """How one transparent session ends: the first reason set wins."""

    def __init__(self, sock: SslSocket) -> None:
        self.sock = sock
        self.exit: _Exit | None = None
        self.escaping = False  # the three plus signs are in; the guard time runs

    def end(self, why: _Exit) -> None:
        if self.exit is None:
            self.exit = why
            self.sock.notify()


async def run_transparent(module: Module, port: AtPort, sock: SslSocket) -> None:
    """Own ``port``'s line for ``sock`` until it ends (see the module docstring)."""
    line = port.line
    session = _Session(sock)
    async with line.urc_gate:
        sock.mode = AccessMode.TRANSPARENT
        sock.notify()
        port.last_transparent = sock.client_id
        port.data_mode = True
        try:
            await line.write(CONNECT)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_uplink, module, port, session)
                if port.dtr_mode != DTR_IGNORED:
                    nursery.start_soon(_watch_dtr, port, session)
                await _downlink(port, session, module.config)
                nursery.cancel_scope.cancel()
        finally:
            port.data_mode = False
        if session.exit is _Exit.ESCAPED:
            await line.write(NO_CARRIER if module.config.escape_no_carrier else OK)
        else:
            sock.mode = AccessMode.BUFFER
            if session.exit is _Exit.HUNG_UP:
                await module.close_socket(sock, 0)
            await line.write(NO_CARRIER)
    if session.exit is _Exit.ESCAPED:
        sock.set_mode(AccessMode.BUFFER)
        if sock.peer_closed:  # closed while escaping: nobody has said so yet
            module.post_urc(b'\r\n+QSSLURC: "closed",%d\r\n' % sock.client_id)


async def _downlink(port: AtPort, session: _Session, config: EmulatorConfig) -> None:
    """Socket -> host until the session ends (the peer's close once drained)."""
    sock = session.sock

    def ended() -> bool:  # closed here (AT+QSSLCLOSE on another port), or by the peer
        return (sock.finished.is_set() and not sock.peer_closed) or sock.peer_closed and (
            config.no_carrier_with_data or not sock.rx)

    while True:
        while session.exit is None and not ended() and not (
                sock.rx and (config.output_during_escape or not session.escaping)):
            await sock.wait_change()
        if session.exit is not None:
            return
        if ended():
            session.end(_Exit.PEER_CLOSED)
            return
        if port.line.silent:  # a hung module reads nothing from the socket
            await port.line.until_heard()
            continue
        chunk = bytes(sock.rx[:4096])
        del sock.rx[: len(chunk)]
        sock.notify()
        await port.line.write(chunk, hold=True)


async def _watch_dtr(port: AtPort, session: _Session) -> None:
    await port.wait_dtr_drop()
    session.end(_Exit.HUNG_UP if port.dtr_mode == DTR_HANG_UP else _Exit.ESCAPED)


async def _uplink(module: Module, port: AtPort, session: _Session) -> None:
    """Host -> socket, watching for the ``+++`` escape with its guard times."""
    line, sock = port.line, session.sock
    guard = module.config.escape_guard
    last_input = trio.current_time()  # CONNECT counts as the start of the silence
    pending = bytearray()  # plus signs held back while they may be an escape
    first_plus = 0.0
    while True:
        if pending:
            wait = guard if pending == ESCAPE else first_plus + guard - trio.current_time()
            data = b""
            with trio.move_on_after(max(wait, 0)):
                data = await line.read_some()
            if not data:
                if pending == ESCAPE:
                    session.end(_Exit.ESCAPED)
                    return
                await sock.put_tx(bytes(pending))  # "+" or "++" alone is data
                pending.clear()
                continue
            if session.escaping:  # the guard time after the +++ was broken: all data
                session.escaping = False
                sock.notify()
        else:
            data = await line.read_some()
        now = trio.current_time()
        out = bytearray()
        for byte in data:
            if byte == 0x2B and len(pending) < 3 and (
                (not pending and not out and now - last_input >= guard)
                or (pending and now - first_plus <= guard)
            ):
                if not pending:
                    first_plus = now
                pending.append(byte)
                if pending == ESCAPE:
                    session.escaping = True
                continue
            out += pending
            pending.clear()
            out.append(byte)
        last_input = now
        if out:
            await sock.put_tx(bytes(out))
