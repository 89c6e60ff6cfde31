"""Transparent access mode (manual 1.3): the line carries one socket's raw bytes.

``CONNECT`` starts it.  Host bytes go to the socket (reading stops while its
send buffer is full), socket bytes go to the host as they come.  ``+++``
ends it when the host was silent for the guard time before it, typed the
three plus signs within the guard time and stayed silent for the guard time
after; the module answers ``OK`` and the socket stays open in buffer mode
(``ATO`` / ``AT+QISWTMD=<id>,2`` return).  When the peer closes, whatever
was received is delivered and ``NO CARRIER`` ends the mode.  URCs of other
sockets wait until the mode ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import trio

from .responses import CONNECT, NO_CARRIER, OK
from .ssl_sockets import AccessMode

if TYPE_CHECKING:
    from .module import Module
    from .ssl_sockets import SslSocket

ESCAPE = b"+++"


async def run_transparent(module: Module, sock: SslSocket) -> None:
    """Own the line for ``sock`` until ``+++`` or the peer closes."""
    line = module.line
    async with line.urc_gate:
        sock.mode = AccessMode.TRANSPARENT
        sock.notify()
        module.last_transparent = sock.client_id
        await line.write(CONNECT)
        escaped = trio.Event()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_uplink, module, sock, escaped)
            closed = await _downlink(module, sock, escaped)
            nursery.cancel_scope.cancel()
        if closed:
            sock.mode = AccessMode.BUFFER
            await line.write(NO_CARRIER)
        else:
            await line.write(OK)
    if not closed:
        sock.set_mode(AccessMode.BUFFER)
        if sock.peer_closed:  # closed while escaping: nobody has said so yet
            line.post_urc(b'\r\n+QSSLURC: "closed",%d\r\n' % sock.client_id)


async def _downlink(module: Module, sock: SslSocket, escaped: trio.Event) -> bool:
    """Socket -> host until escape (False) or peer closed and drained (True)."""
    line = module.line
    while True:
        while not sock.rx and not sock.peer_closed and not escaped.is_set():
            await sock.wait_change()
        if escaped.is_set():
            return False
        if not sock.rx:
            return True
        chunk = bytes(sock.rx[:4096])
        del sock.rx[: len(chunk)]
        sock.notify()
        await line.write(chunk)


async def _uplink(module: Module, sock: SslSocket, escaped: trio.Event) -> None:
    """Host -> socket, watching for the ``+++`` escape with its guard times."""
    line = module.line
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
                    escaped.set()
                    sock.notify()
                    return
                await sock.put_tx(bytes(pending))  # "+" or "++" alone is data
                pending.clear()
                continue
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
                continue
            out += pending
            pending.clear()
            out.append(byte)
        last_input = now
        if out:
            await sock.put_tx(bytes(out))
