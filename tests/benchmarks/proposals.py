"""Changes proposed for the driver, measured before anyone edits the driver.

    python -m tests.benchmarks.proposals NAME [ssl-proxy flags...]

runs ``ssl-proxy`` (``proxy.cli.main``) with the change NAME patched in;
``python -m tests.benchmarks --proposal NAME`` runs the proxy of every
scenario that way.  Changes:

* ``short-read``: a ``+QSSLRECV: n`` shorter than asked means the module's
  buffer is empty, so ``SslSocket.receive_some`` waits for the next
  ``+QSSLURC: "recv"`` instead of sending one more ``AT+QSSLRECV`` to see
  ``+QSSLRECV: 0`` (the manual's example 3.3.3 also reads once).  Saves one
  command round trip plus 23 bytes after every burst; see
  docs/benchmarks.md.
"""

from __future__ import annotations

import sys

import trio

PROPOSALS = ("short-read",)


def patch_short_read() -> None:
    from modem import ssl_socket

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        # modem/ssl_socket.py's receive_some; only the marked line differs.
        if max_bytes is not None and max_bytes < 1:
            raise ValueError("max_bytes must be at least 1")
        if self._receiving:
            raise trio.BusyResourceError("another task is receiving on this socket")
        self._receiving = True
        try:
            want = ssl_socket.MAX_RECV if max_bytes is None else min(max_bytes,
                                                                     ssl_socket.MAX_RECV)
            while True:
                self._check_usable()
                if self._recv_hint or self._more:
                    self._recv_hint = False
                    data = await self._read(want)
                    if data:
                        self._more = len(data) == want  # changed: short read = drained
                        self.bytes_received += len(data)
                        return data
                    self._more = False
                    continue
                if self._peer_closed:
                    await trio.lowlevel.checkpoint()
                    return b""
                await self._wakeup.wait()
        finally:
            self._receiving = False

    ssl_socket.SslSocket.receive_some = receive_some  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in PROPOSALS:
        print(f"usage: python -m tests.benchmarks.proposals {{{','.join(PROPOSALS)}}} "
              "[ssl-proxy flags]", file=sys.stderr)
        return 2
    if args[0] == "short-read":
        patch_short_read()
    from proxy.cli import main as proxy_main

    return proxy_main(args[1:])


if __name__ == "__main__":
    sys.exit(main())
