"""``ModuleSocket``: what a connection needs of a module socket.

``modem.sockets.ssl_socket.SslSocket`` is one; tests may hand in a small
stand-in.  The pump moves bytes with the stream methods, asks
``drain_for_close`` whether anything is left before an idle close, and reads
how the stream ended from ``peer_closed`` and ``id_lost``.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["ModuleSocket"]


class ModuleSocket(Protocol):
    """A module socket as the proxy uses it (``SslSocket``'s contract)."""

    async def send_all(self, data: bytes | bytearray | memoryview) -> None: ...

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        """The next bytes; ``b""`` once the peer closed and everything was delivered."""
        ...

    async def drain_for_close(self, max_bytes: int | None = None) -> bytes | None:
        """What the module holds now (``b""``: it showed it holds nothing; None: it
        cannot show that, so the connection must not be closed as idle)."""
        ...

    async def aclose(self) -> None: ...

    @property
    def peer_closed(self) -> bool:
        """The peer closed: reads drain what is left, then end of stream."""
        ...

    @property
    def id_lost(self) -> bool:
        """The stream ended without a "closed" from the module: whether it was
        complete is unknown."""
        ...
