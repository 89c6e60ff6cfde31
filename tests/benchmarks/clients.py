"""Plain TCP clients of the proxy's local ports, timed like the transparent reference.

Timing starts before the TCP connect (the proxy then opens the module
socket, as the reference's ``AT+QSSLOPEN``) and ends at the last payload
byte the client reads, or, for uploads, when the server has the last byte.
"""

from __future__ import annotations

import trio

from .servers import BenchServer
from .transparent import SESSION_TIMEOUT, Transfer

LOCAL = "127.0.0.1"


async def download(port: int, nbytes: int) -> Transfer:
    """Read ``nbytes`` through the proxy from a source server."""
    with trio.fail_after(SESSION_TIMEOUT):
        start = trio.current_time()
        stream = await trio.open_tcp_stream(LOCAL, port)
        async with stream:
            got = 0
            while got < nbytes:
                data = await stream.receive_some(65536)
                if not data:
                    raise RuntimeError(f"proxy closed after {got} of {nbytes} bytes")
                got += len(data)
            return Transfer(start, trio.current_time(), got)


async def upload(port: int, server: BenchServer, data: bytes) -> Transfer:
    """Write ``data`` through the proxy to a sink server."""
    with trio.fail_after(SESSION_TIMEOUT):
        index = len(server.completions)
        start = trio.current_time()
        stream = await trio.open_tcp_stream(LOCAL, port)
        async with stream:
            await stream.send_all(data)
            completion = await server.completion(index)
            await completion.done.wait()
            while completion.nbytes == 0 and data:
                # An open the proxy could not vouch for (its +QSSLOPEN came after
                # its state poll's answer) is closed and opened again in buffer
                # mode before any byte: the server saw an empty connection first.
                index += 1
                completion = await server.completion(index)
                await completion.done.wait()
            while await stream.receive_some(65536):  # the proxy closes after the server
                pass
        if completion.nbytes < len(data):
            raise RuntimeError(f"server got {completion.nbytes} of {len(data)} bytes")
        return Transfer(start, completion.at, completion.nbytes)


async def reqresp(port: int, request: bytes, reply: int, count: int) -> Transfer:
    """``count`` exchanges through the proxy, one after another."""
    samples = []
    with trio.fail_after(SESSION_TIMEOUT):
        start = trio.current_time()
        stream = await trio.open_tcp_stream(LOCAL, port)
        async with stream:
            for _ in range(count):
                t0 = trio.current_time()
                await stream.send_all(request)
                got = 0
                while got < reply:
                    data = await stream.receive_some(reply - got)
                    if not data:
                        raise RuntimeError("proxy closed during an exchange")
                    got += len(data)
                samples.append(trio.current_time() - t0)
            end = trio.current_time()
        return Transfer(start, end, count * reply, samples)  # replies only, as the reference


async def concurrent_downloads(port: int, nbytes: int, connections: int) -> list[Transfer]:
    """``connections`` downloads of ``nbytes`` at once."""
    results: list[Transfer] = []

    async def one() -> None:
        results.append(await download(port, nbytes))

    async with trio.open_nursery() as nursery:
        for _ in range(connections):
            nursery.start_soon(one)
    return results
