"""The soak's local clients: what they do, and what they conclude.

A client connects to a proxy listener, writes a header and its signed
payload (``signatures``: every block names the connection and its offset)
in random chunks with random pauses, and checks every byte that comes back:

* ``echo``: reads the payload back while it writes, compares each byte
  with what it sent (corruption, reordering and duplication all show as a
  mismatch), then closes;
* ``sink``: writes the payload, then expects the server's SHA-256 of it and
  a clean end of stream;
* ``download``: writes only the header, reads ``size`` bytes from the
  source server and expects a clean end of stream (it sends nothing, so a
  connection the proxy ends with a plain close looks finished to it);
* ``vanish``: an echo client that disappears mid-transfer (a reset or a
  plain close);
* ``stall``: an echo client that stops reading for a while (the proxy must
  push back, not buffer or drop), then resumes or vanishes.

``Outcome``: ``ok``; ``failed`` (the connection ended with an error the
user saw: a reset, a refused connect, or a clean end of stream after the
module reported the remote closed because of an injected ``peer_close``);
``vanished`` (the client left on purpose); ``corrupted`` (a byte differs,
on either end); ``misdelivered`` (another connection's bytes); ``hole``
(bytes missing, later ones delivered); ``truncated`` (a clean end of stream
before the data was complete although the server did not finish: data lost
silently);
``hung`` (no byte moved either way for the idle limit, or no end within
the deadline).
"""

from __future__ import annotations

import hashlib
import math
import random
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass

import trio

from modem.nurseries import leaf_exceptions

from .servers import SoakServer, header, source_bytes
from .signatures import classify

KINDS = ("echo", "sink", "download", "vanish", "stall")
KIND_WEIGHTS = (5, 3, 3, 1, 1)


@dataclass
class ClientPlan:
    """Everything random about one client, drawn up front from a seeded generator."""

    token: int
    kind: str
    size: int
    seed: int
    chunk_max: int
    pause_chance: float
    vanish_at: int | None = None   # payload bytes written before vanishing
    vanish_reset: bool = True      # vanish with a TCP reset (else a plain close)
    stall_at: int = 0              # payload bytes read before the stall
    stall_for: float = 0.0

    @property
    def target(self) -> str:
        return {"sink": "sink", "download": "source"}.get(self.kind, "echo")


def draw_plan(rng: random.Random, token: int, max_size: int) -> ClientPlan:
    kind = rng.choices(KINDS, KIND_WEIGHTS)[0]
    size = 0 if rng.random() < 0.03 else int(math.exp(rng.uniform(0, math.log(max_size))))
    plan = ClientPlan(token, kind, size, rng.getrandbits(32),
                      chunk_max=rng.choice((64, 1460, 4096, 16384, 65536)),
                      pause_chance=rng.choice((0.0, 0.05, 0.3)))
    if kind == "download":
        plan.seed = token
    elif kind == "vanish":
        plan.size = max(size, 2048)
        plan.vanish_at = rng.randint(0, plan.size - 1)
        plan.vanish_reset = rng.random() < 0.5
    elif kind == "stall":
        plan.size = max(size, 64 * 1024)
        plan.stall_at = rng.randint(0, plan.size // 2)
        plan.stall_for = rng.uniform(2, 15)
        if rng.random() < 0.3:
            plan.vanish_at = plan.size  # vanish when the stall ends
            plan.vanish_reset = rng.random() < 0.5
    return plan


@dataclass
class ClientResult:
    """What one client saw.  ``error`` is the message a user would have seen."""

    plan: ClientPlan
    outcome: str = "hung"
    error: str = ""
    sent: int = 0
    received: int = 0
    local_port: int = 0
    peer_closed_by_fault: bool = False
    proxy_reason: str = ""
    server_check: str = "unverified"  # ok, mismatch, unverified
    server_verdict: str = ""  # the server's first wrong bytes, classified

    def as_dict(self) -> dict[str, object]:
        return {
            "token": self.plan.token, "kind": self.plan.kind, "size": self.plan.size,
            "local_port": self.local_port,
            "outcome": self.outcome, "error": self.error, "sent": self.sent,
            "received": self.received, "peer_closed_by_fault": self.peer_closed_by_fault,
            "proxy_reason": self.proxy_reason, "server_check": self.server_check,
            "server_verdict": self.server_verdict,
        }


class _Vanish(Exception):
    pass


class _Done(Exception):
    pass


def describe(exc: BaseException) -> str:
    cause = exc.__cause__
    if isinstance(exc, trio.BrokenResourceError) and cause is not None:
        exc = cause
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"


class Client:
    """One local connection through the proxy, per ``plan``."""

    def __init__(self, plan: ClientPlan, port: int, server: SoakServer,
                 live: dict[int, ClientResult]) -> None:
        self.plan = plan
        self.port = port
        self.server = server
        self.live = live
        self.data = source_bytes(plan.token, plan.size)
        self.result = ClientResult(plan)
        self._rng = random.Random(plan.seed ^ 0x5A5A)
        self._vanished = False
        self._stream: trio.SocketStream | None = None
        self._age = self._idle = 0.0

    async def run(self, deadline: float, idle_limit: float,
                  on_hang: Callable[[ClientResult, str], None] | None = None,
                  proxy_moved: Callable[[int], object] = lambda port: None) -> ClientResult:
        """Run to an outcome: ``hung`` when no byte moved either way for
        ``idle_limit`` seconds, or ``deadline`` seconds passed.  A byte moved
        when the client's counts or ``proxy_moved(local_port)`` (the proxy's
        own counts for the connection: a client whose socket buffer is full
        waits while the proxy still drains it) changed.  ``on_hang`` is called
        (synchronously) with ``"halfway"`` once half the idle limit passed,
        and with ``"hung"`` just before the client gives up."""
        result = self.result
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._watch_progress, nursery.cancel_scope, deadline, idle_limit,
                               on_hang, proxy_moved)
            await self._attempt()
            nursery.cancel_scope.cancel()
        if result.outcome == "hung":
            result.error = f"no end after {self._age:.0f} s (sent {result.sent}, " \
                           f"received {result.received}; nothing moved for {self._idle:.0f} s)"
        return result

    async def _watch_progress(self, scope: trio.CancelScope, deadline: float,
                              idle_limit: float,
                              on_hang: Callable[[ClientResult, str], None] | None,
                              proxy_moved: Callable[[int], object]) -> None:
        result = self.result

        def counts() -> object:
            return result.sent, result.received, proxy_moved(result.local_port)

        start = moved_at = trio.current_time()
        seen = counts()
        halfway = False
        while True:
            await trio.sleep(1)
            now, latest = trio.current_time(), counts()
            if latest != seen:
                seen, moved_at, halfway = latest, now, False
            self._age, self._idle = now - start, now - moved_at
            if on_hang is not None and not halfway and self._idle >= idle_limit / 2:
                halfway = True
                on_hang(result, "halfway")
            if self._idle >= idle_limit or self._age >= deadline:
                if on_hang is not None:
                    on_hang(result, "hung")
                scope.cancel()
                return

    async def _attempt(self) -> None:
        result = self.result
        try:
            stream = await trio.open_tcp_stream("127.0.0.1", self.port)
        except OSError as exc:
            result.outcome, result.error = "failed", f"connect: {describe(exc)}"
            return
        result.local_port = stream.socket.getsockname()[1]
        self.live[result.local_port] = result
        try:
            await self._converse(stream)
        except _Vanish:
            result.outcome = "vanished"
        except (trio.BrokenResourceError, OSError) as exc:
            result.outcome, result.error = "failed", describe(exc)
        finally:
            if self._vanished and self.plan.vanish_reset:
                stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                         struct.pack("ii", 1, 0))
            await trio.aclose_forcefully(stream)

    async def check_server(self, wait: float) -> None:
        """Compare what the server received with what was sent (a prefix of it)."""
        result, plan = self.result, self.plan
        with trio.move_on_after(wait):
            record = await self.server.wait_done(self.plan.token)
            n = record.received
            if record.verdict is not None:
                result.server_check = "mismatch"
                result.server_verdict = ": ".join(record.verdict)
            elif plan.kind == "download":
                result.server_check = "ok" if n == 0 else "mismatch"
            elif n > len(self.data) or hashlib.sha256(self.data[:n]).digest() != \
                    record.sha256.digest() or result.outcome == "ok" and n != len(self.data):
                result.server_check = "mismatch"
            else:
                result.server_check = "ok"
        self.server.forget(self.plan.token)

    async def _end_of_stream(self, what: str) -> None:
        """An end of stream before the client had everything: a reset or a FIN?

        A reset's error is reported once, to whichever call meets it first:
        when the writer task met it, the reader sees a plain end of stream.
        So probe with one byte: after a reset the socket is closed and the
        send fails (EPIPE); after a FIN the connection is half open and it
        succeeds.
        """
        result = self.result
        missing = f"end of stream after {result.received} of {what}"
        assert self._stream is not None
        try:
            await self._stream.socket.send(b"\0")
        except OSError as exc:
            result.outcome = "failed"
            result.error = f"{describe(exc)} ({missing}; the writer met the reset first)"
            raise _Done from None
        if result.peer_closed_by_fault:
            result.outcome = "failed"
            result.error = (f"clean {missing} (module reported the remote closed: "
                            "injected peer_close)")
        else:
            result.outcome, result.error = "truncated", f"clean {missing}"
        raise _Done

    async def _converse(self, stream: trio.SocketStream) -> None:
        self._stream = stream
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._write, stream)
                if self.plan.kind == "sink":
                    await self._read_digest(stream)
                elif self.plan.kind == "download":
                    await self._read_download(stream)
                else:
                    await self._read_echo(stream)
                nursery.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            leaves = leaf_exceptions(group)
            for kind in (_Done, _Vanish, trio.BrokenResourceError, OSError):
                for leaf in leaves:
                    if isinstance(leaf, kind):
                        if kind is _Done:
                            return
                        raise leaf from leaf.__cause__
            raise

    async def _write(self, stream: trio.SocketStream) -> None:
        plan, result, rng = self.plan, self.result, self._rng
        await stream.send_all(header(plan.token, plan.size))
        if plan.kind == "download":
            await trio.sleep_forever()
        view = memoryview(self.data)
        while result.sent < plan.size:
            if plan.vanish_at is not None and result.sent >= plan.vanish_at \
                    and plan.kind == "vanish":
                self._vanished = True
                raise _Vanish
            end = min(plan.size, result.sent + rng.randint(1, plan.chunk_max))
            if plan.vanish_at is not None and plan.kind == "vanish":
                end = min(end, max(plan.vanish_at, result.sent + 1))
            await stream.send_all(view[result.sent:end])
            result.sent = end
            if plan.pause_chance and rng.random() < plan.pause_chance:
                await trio.sleep(rng.uniform(0, 0.3))
        await trio.sleep_forever()

    async def _read_echo(self, stream: trio.SocketStream) -> None:
        plan, result = self.plan, self.result
        stalled = plan.kind != "stall"
        while result.received < plan.size:
            if not stalled and result.received >= plan.stall_at:
                stalled = True
                await trio.sleep(plan.stall_for)
                if plan.vanish_at is not None:
                    self._vanished = True
                    raise _Vanish
            await self._take(await stream.receive_some(65536), "echoed bytes differ from "
                             "those sent")
        result.outcome = "ok"

    async def _read_download(self, stream: trio.SocketStream) -> None:
        plan, result = self.plan, self.result
        while result.received < plan.size:
            await self._take(await stream.receive_some(65536),
                             "downloaded bytes differ from the source's")
        await self._expect_end()

    async def _take(self, chunk: bytes, differ: str) -> None:
        """Count ``chunk`` if it is the next part of the expected data; a
        mismatch ends the client as corrupted, an early end as its error."""
        result = self.result
        if not chunk:
            await self._end_of_stream(f"{self.plan.size} bytes")
        start = result.received
        if chunk != self.data[start:start + len(chunk)]:
            result.outcome, where = classify(chunk, start, self.plan.token)
            result.error = f"{differ}: {where}"
            raise _Done
        result.received += len(chunk)

    async def _expect_end(self) -> None:
        """After everything the server sent: a clean end of stream."""
        result = self.result
        try:
            assert self._stream is not None
            extra = await self._stream.receive_some(1)
        except (trio.BrokenResourceError, OSError) as exc:
            # The server finished; a reset after its answer loses nothing.
            result.outcome, result.error = "ok", f"after the data: {describe(exc)}"
            return
        if extra:
            result.outcome = "corrupted"
            result.error = "bytes after the end of the server's data"
            raise _Done
        result.outcome = "ok"

    async def _read_digest(self, stream: trio.SocketStream) -> None:
        result = self.result
        digest = b""
        while len(digest) < 32:
            chunk = await stream.receive_some(32 - len(digest))
            if not chunk:
                await self._end_of_stream("the 32-byte digest")
            digest += chunk
            result.received = len(digest)
        if digest != hashlib.sha256(self.data).digest():
            result.outcome = "corrupted"
            result.error = "the sink's SHA-256 differs from that of the bytes sent"
            raise _Done
        await self._expect_end()
