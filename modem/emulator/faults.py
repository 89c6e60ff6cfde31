"""Faults a test or a user can inject, and the ``--fault`` spec syntax.

``Fault`` values (``await emu.inject(Fault.peer_close(3))``):

* ``peer_close(client_id)``: the server drops the connection;
* ``pdp_deact(context_id=1)``: ``+QIURC: "pdpdeact",<id>``, its sockets close;
* ``restart()``: the module reboots (only ``UFS:`` files survive);
* ``silence(seconds)``: the module answers nothing and drops input;
* ``noise(count)``: unknown URCs and blank lines between responses;
* ``send_fail(count)``: the next ``count`` ``AT+QSSLSEND`` answer ``SEND FAIL``;
* ``slow_handshake(seconds, count=1)``: the next opens stall their handshake.

Spec strings (CLI ``--fault``): ``NAME[:ARG[,ARG]][@TIME]`` where TIME is
seconds after start (``5s``, ``1.5``, ``250ms``); without ``@`` the fault
applies at start.  Examples: ``peer_close:3@5s``, ``restart@10s``,
``noise:20``, ``silence:3@2s``, ``pdp_deact:1@30s``, ``send_fail:5``,
``slow_handshake:20``.  ``random:RATE`` injects a random mild fault (noise,
send_fail, peer_close of a connected socket) after each command with
probability RATE, drawn from the seeded generator.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

NOISE_LINES = (
    b'\r\n+QIND: "csq",20,99\r\n',
    b'\r\n+QIND: "csq",31,99\r\n',
    b"\r\n",
    b'\r\n+QIND: "act","LTE"\r\n',
    b"\r\n+CGREG: 1\r\n",
    b"\r\n\r\n",
    b'\r\n+QUSIM: 1\r\n',
)


@dataclass(frozen=True)
class Fault:
    """One injectable fault; build it with the class methods."""

    kind: str
    client_id: int = 0
    context_id: int = 1
    seconds: float = 0.0
    count: int = 1

    @classmethod
    def peer_close(cls, client_id: int) -> Fault:
        return cls("peer_close", client_id=client_id)

    @classmethod
    def pdp_deact(cls, context_id: int = 1) -> Fault:
        return cls("pdp_deact", context_id=context_id)

    @classmethod
    def restart(cls) -> Fault:
        return cls("restart")

    @classmethod
    def silence(cls, seconds: float) -> Fault:
        return cls("silence", seconds=seconds)

    @classmethod
    def noise(cls, count: int) -> Fault:
        return cls("noise", count=count)

    @classmethod
    def send_fail(cls, count: int = 1) -> Fault:
        return cls("send_fail", count=count)

    @classmethod
    def slow_handshake(cls, seconds: float, count: int = 1) -> Fault:
        return cls("slow_handshake", seconds=seconds, count=count)


@dataclass(frozen=True)
class FaultPlan:
    """A parsed ``--fault`` spec: ``fault`` at ``at`` seconds, or ``random_rate``."""

    fault: Fault | None
    at: float = 0.0
    random_rate: float = 0.0


_SPEC = re.compile(r"^(?P<name>[a-z_]+)(?::(?P<args>[^@]*))?(?:@(?P<at>[0-9.]+)(?P<unit>ms|s)?)?$")


def parse_fault_spec(spec: str) -> FaultPlan:
    """Parse ``NAME[:ARGS][@TIME]``; ValueError with a readable message if wrong."""
    m = _SPEC.match(spec.strip())
    if not m:
        raise ValueError(f"bad fault spec {spec!r} (want NAME[:ARGS][@TIME])")
    name = m["name"]
    args = [a for a in (m["args"] or "").split(",") if a]
    at = float(m["at"] or 0) / (1000 if m["unit"] == "ms" else 1)
    try:
        if name == "random":
            (rate,) = args
            return FaultPlan(None, random_rate=float(rate))
        if name == "peer_close":
            (cid,) = args
            fault = Fault.peer_close(int(cid))
        elif name == "pdp_deact":
            fault = Fault.pdp_deact(int(args[0]) if args else 1)
        elif name == "restart" and not args:
            fault = Fault.restart()
        elif name == "silence":
            (secs,) = args
            fault = Fault.silence(float(secs))
        elif name == "noise":
            fault = Fault.noise(int(args[0]) if args else 10)
        elif name == "send_fail":
            fault = Fault.send_fail(int(args[0]) if args else 1)
        elif name == "slow_handshake":
            fault = Fault.slow_handshake(float(args[0]), int(args[1]) if len(args) > 1 else 1)
        else:
            raise ValueError(name)
    except ValueError as exc:
        raise ValueError(f"bad fault spec {spec!r}: {exc}") from exc
    return FaultPlan(fault, at=at)


class FaultState:
    """Pending one-shot faults and the seeded generator (shared across restarts)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.send_fails = 0
        self.slow_handshakes: list[float] = []
        self.random_rate = 0.0
        self.history: list[Fault] = []  # every fault applied, in order

    def take_send_fail(self) -> bool:
        if self.send_fails:
            self.send_fails -= 1
            return True
        return False

    def take_slow_handshake(self) -> float:
        return self.slow_handshakes.pop(0) if self.slow_handshakes else 0.0

    def noise_lines(self, count: int) -> list[tuple[float, bytes]]:
        """``count`` noise units with the pause before each (all drawn now)."""
        return [(self.rng.uniform(0, 0.01), self.rng.choice(NOISE_LINES)) for _ in range(count)]
