"""Injected faults that wait for their moment: the next sends, the next handshakes.

``faults.SendFail`` and ``faults.SlowHandshake`` book them here; the
``AT+QSSLSEND`` handler and the socket's open take them one at a time;
the multiplexer (``cmux.engine``) takes the frames it breaks and the DLCs
it keeps silent.  The emulator keeps one ``PendingFaults`` across module
restarts, inside the ``FaultState`` every fault shares.
"""

from __future__ import annotations

import random
from collections import Counter, deque
from typing import Any


class PendingFaults:
    """Booked ``SEND FAIL`` answers and handshake stalls, taken in order."""

    def __init__(self) -> None:
        self.send_fails = 0
        self.slow_handshakes: deque[float] = deque()
        self.open_fails: deque[int] = deque()
        self.unanswered: Counter[str] = Counter()  # command name -> answers to skip
        self.lost_prompts = 0
        self.recv_head_losses = 0  # AT+QSSLRECV answers to write without their head
        self.fcs_errors = 0  # frames the multiplexer writes with a broken FCS
        self.byte_losses = 0  # data frames the multiplexer writes one byte short
        self.status_losses = 0  # MSC commands from the host lost on the way
        self.silent_dlcs: set[int] = set()  # DLCs that answer nothing until CLD
        self.dlc_lags: dict[int, float] = {}  # DLC -> seconds its frames wait to be read

    def take_fcs_error(self) -> bool:
        """True (and one fewer booked) when the next frame must go out broken."""
        return self._take("fcs_errors")

    def take_unanswered(self, name: str) -> bool:
        """True (and one fewer booked) when command ``name`` must get no answer."""
        if self.unanswered[name] > 0:
            self.unanswered[name] -= 1
            return True
        return False

    def take_status_loss(self) -> bool:
        """True (and one fewer booked) when the host's next MSC must be lost."""
        return self._take("status_losses")

    def take_recv_head_loss(self) -> bool:
        """True (and one fewer booked) when the next read's answer loses its head."""
        return self._take("recv_head_losses")

    def take_lost_prompt(self) -> bool:
        """True (and one fewer booked) when the next ``>`` must not reach the host."""
        return self._take("lost_prompts")

    def take_send_fail(self) -> bool:
        """True (and one fewer booked) when the next ``AT+QSSLSEND`` must fail."""
        return self._take("send_fails")

    def take_open_fail(self) -> int:
        """The error code the next open ends with (0: none booked)."""
        return self.open_fails.popleft() if self.open_fails else 0

    def take_slow_handshake(self) -> float:
        """Seconds the next TLS handshake stalls first (0: none booked)."""
        return self.slow_handshakes.popleft() if self.slow_handshakes else 0.0

    def _take(self, booked: str) -> bool:
        """One fewer of the count ``booked`` (an attribute), True if there was one."""
        left: int = getattr(self, booked)
        if left:
            setattr(self, booked, left - 1)
        return bool(left)


NOISE_LINES = (
    b'\r\n+QIND: "csq",20,99\r\n',
    b'\r\n+QIND: "csq",31,99\r\n',
    b"\r\n",
    b'\r\n+QIND: "act","LTE"\r\n',
    b"\r\n+CGREG: 1\r\n",
    b"\r\n\r\n",
    b'\r\n+QUSIM: 1\r\n',
)


class FaultState:
    """What faults share across module restarts: the seeded generator, the
    ``random:RATE`` rate, the faults booked for later and the history."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.random_rate = 0.0
        self.pending = PendingFaults()
        self.history: list[Any] = []  # every fault applied, in order (faults.Fault)

    def noise_lines(self, count: int) -> list[tuple[float, bytes]]:
        """``count`` noise units with the pause before each (all drawn now)."""
        return [(self.rng.uniform(0, 0.01), self.rng.choice(NOISE_LINES)) for _ in range(count)]
