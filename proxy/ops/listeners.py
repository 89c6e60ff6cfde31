"""Listening sockets, and who connected to them.

``bind`` opens TCP listeners for an address (``[::1]:9000`` listens on IPv6
only: trio sets ``IPV6_V6ONLY``) or fails with a one-line ``ListenError``
that says what to do.  ``bind_map`` opens a map's listener: TCP, or a Unix
socket file (``proxy.ops.unix_listener``: mode 0660, a stale file replaced,
a live one refused) as a ``MapListener``, whose ``aclose`` also removes its
file, so a map a reload removes leaves nothing behind.

``peer_of`` says who connected (the address, or a Unix peer's process and
user); ``admits`` applies the map's allow list (``proxy.config.allow``) and
``refuse`` resets a client it does not admit (RST, as every cut stream).
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import struct
from dataclasses import dataclass

import trio

from proxy.config.allow import Address
from proxy.config.endpoint import Endpoint, ListenAddress, UnixAddress
from proxy.config.model import Mapping
from proxy.connections.connection import reset_on_close
from proxy.errors import ListenError
from proxy.ops.unix_listener import UnixSocketFile, open_unix_listener

_PEER_CREDENTIALS = struct.Struct("3i")  # struct ucred: pid, uid, gid (Linux)


async def bind(endpoint: Endpoint, what: str) -> list[trio.SocketListener]:
    """Listening sockets for ``endpoint``; ``ListenError`` with advice if it cannot."""
    try:
        return await trio.open_tcp_listeners(endpoint.port, host=endpoint.host)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            advice = "another program uses that port; choose another one or stop it"
        elif exc.errno == errno.EACCES:
            advice = "ports below 1024 need privileges; choose a port above 1023"
        elif exc.errno == errno.EADDRNOTAVAIL:
            advice = "that address is not one of this host's; use 127.0.0.1 or 0.0.0.0"
        else:
            advice = exc.strerror or str(exc)
        raise ListenError(f"cannot listen on {endpoint} for {what}: {advice}") from None


def bound_address(listeners: list[trio.SocketListener]) -> Endpoint:
    """Where ``listeners`` really listen (the port the system chose for port 0)."""
    host, port = listeners[0].socket.getsockname()[:2]
    return Endpoint(host, port)


@dataclass
class MapListener:
    """One map's bound listeners and where they listen; a Unix map's socket file."""

    listeners: list[trio.SocketListener]
    address: ListenAddress
    socket_file: UnixSocketFile | None = None

    async def aclose(self) -> None:
        """Close the listeners and remove the socket file (if still ours)."""
        for listener in self.listeners:
            await trio.aclose_forcefully(listener)
        if self.socket_file is not None:
            self.socket_file.remove()


async def bind_map(mapping: Mapping) -> MapListener:
    """``mapping``'s listener: TCP, or a Unix socket file; ``ListenError`` if it cannot."""
    what = f"--map {mapping}"
    if isinstance(mapping.listen, UnixAddress):
        listener, socket_file = await open_unix_listener(mapping.listen.path, what)
        return MapListener([listener], mapping.listen, socket_file)
    listeners = await bind(mapping.listen, what)
    return MapListener(listeners, bound_address(listeners))


def listening_line(mapping: Mapping, address: ListenAddress) -> str:
    """The log line that says a map now serves: where, where to, and whom."""
    allow = "" if mapping.allow is None else f" (allow {mapping.allow})"
    return f"listening on {address} -> {mapping.remote}{allow}"


@dataclass(frozen=True)
class Peer:
    """Who connected: ``address`` (None on a Unix socket, or once the client is
    gone) and ``name``, as the logs and the status page show it."""

    address: Address | None
    name: str


def peer_of(stream: trio.SocketStream) -> Peer:
    """The client at the other end of ``stream`` (a Unix peer: its pid and uid)."""
    sock = stream.socket
    if sock.family == socket.AF_UNIX:
        try:
            raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                  _PEER_CREDENTIALS.size)
        except OSError:
            return Peer(None, "unix")
        pid, uid, _ = _PEER_CREDENTIALS.unpack(raw)
        return Peer(None, f"unix:pid={pid},uid={uid}")
    try:
        host, port = sock.getpeername()[:2]
    except OSError:
        return Peer(None, "?")
    return Peer(ipaddress.ip_address(host), str(Endpoint(host, port)))


def admits(mapping: Mapping, peer: Peer) -> bool:
    """Whether ``mapping``'s allow list (if it has one) lets ``peer`` in."""
    if mapping.allow is None:
        return True
    return peer.address is not None and mapping.allow.admits(peer.address)


async def refuse(stream: trio.SocketStream) -> None:
    """Reset ``stream`` (RST): the client learns at once that it is not served."""
    reset_on_close(stream)
    await trio.aclose_forcefully(stream)
