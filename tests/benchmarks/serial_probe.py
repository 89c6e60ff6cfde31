"""Where a host gap goes: ``ssl-proxy`` with a timestamp on every serial read and write.

    SERIAL_PROBE_LOG=probe.log python -m tests.benchmarks.line_trace --baud 921600 \\
        --latency-ms 2 --kib 512 --keep line.trace --program tests.benchmarks.serial_probe
    python -m tests.benchmarks.serial_probe line.trace probe.log

Run as the proxy (``--program``), it wraps ``SerialStream.receive_some`` and
``send_all`` and logs ``<time.monotonic()> r|w <len> <hex of the edge bytes>``
to ``$SERIAL_PROBE_LOG``, then runs ``proxy.cli``.  Run with a line trace
(``line_trace --keep``) and the log, it matches each ``AT+QSSLRECV`` answer's
end to the proxy's read of it, the proxy's next ``AT+QSSLRECV`` write and
the emulator's read of that, all on the same monotonic clock, and prints the
medians of the three legs.
"""

from __future__ import annotations

import bisect
import os
import statistics
import sys
import time
from pathlib import Path

OK_END = "0d0a4f4b0d0a"  # \r\nOK\r\n
RECV = "41542b5153534c52454356"  # AT+QSSLRECV


def _probe() -> int:
    from modem.link import serial_stream

    log = open(os.environ["SERIAL_PROBE_LOG"], "w", buffering=1 << 20)  # noqa: SIM115
    receive_some = serial_stream.SerialStream.receive_some
    send_all = serial_stream.SerialStream.send_all

    async def probed_receive(self: serial_stream.SerialStream,
                             max_bytes: int | None = None) -> bytes:
        data = await receive_some(self, max_bytes)
        log.write(f"{time.monotonic():.6f} r {len(data)} {bytes(data[-6:]).hex()}\n")
        return data

    async def probed_send(self: serial_stream.SerialStream,
                          data: bytes | bytearray | memoryview) -> None:
        log.write(f"{time.monotonic():.6f} w {len(data)} {bytes(data[:11]).hex()}\n")
        await send_all(self, data)

    serial_stream.SerialStream.receive_some = probed_receive  # type: ignore[method-assign]
    serial_stream.SerialStream.send_all = probed_send  # type: ignore[method-assign]
    from proxy.cli import main

    try:
        return main()
    finally:
        log.close()


def _median_ms(values: list[float]) -> str:
    return f"{1000 * statistics.median(values):.3f} ms (n={len(values)})" if values else "-"


def analyse(trace: Path, probe: Path) -> None:
    lines = [line.split() for line in trace.read_text().splitlines()]
    answers = [float(t[2]) for t in lines if t[3] == "m" and t[4].endswith(OK_END)]
    commands = sorted(float(t[0]) for t in lines if t[3] == "h" and t[4].startswith(RECV))
    events = [line.split() for line in probe.read_text().splitlines()]
    reads = [float(e[0]) for e in events if e[1] == "r" and e[3].endswith(OK_END)]
    writes = [float(e[0]) for e in events if e[1] == "w" and e[3].startswith(RECV)]
    to_proxy, in_proxy, to_emulator = [], [], []
    for written in answers:
        i = bisect.bisect_left(reads, written)
        j = bisect.bisect_left(writes, reads[i]) if i < len(reads) else len(writes)
        k = bisect.bisect_left(commands, writes[j]) if j < len(writes) else len(commands)
        if k >= len(commands) or commands[k] - written > 0.01:
            continue  # not a read followed by another read (the transfer's end)
        to_proxy.append(reads[i] - written)
        in_proxy.append(writes[j] - reads[i])
        to_emulator.append(commands[k] - writes[j])
    print(f"emulator writes the answer's end -> the proxy has read it: {_median_ms(to_proxy)}")
    print(f"the proxy's read -> its write of the next AT+QSSLRECV:     {_median_ms(in_proxy)}")
    print(f"the proxy's write -> the emulator has read it:             {_median_ms(to_emulator)}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and "SERIAL_PROBE_LOG" not in os.environ:
        analyse(Path(sys.argv[1]), Path(sys.argv[2]))
        sys.exit(0)
    sys.exit(_probe())
