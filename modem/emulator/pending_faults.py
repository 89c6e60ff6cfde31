"""Injected faults that wait for their moment: the next sends, the next handshakes.

``faults.SendFail`` and ``faults.SlowHandshake`` book them here; the
``AT+QSSLSEND`` handler and the socket's open take them one at a time.  The
emulator keeps one ``PendingFaults`` across module restarts.
"""

from __future__ import annotations

from collections import Counter, deque


class PendingFaults:
    """Booked ``SEND FAIL`` answers and handshake stalls, taken in order."""

    def __init__(self) -> None:
        self.send_fails = 0
        self.slow_handshakes: deque[float] = deque()
        self.open_fails: deque[int] = deque()
        self.unanswered: Counter[str] = Counter()  # command name -> answers to skip
        self.lost_prompts = 0

    def take_unanswered(self, name: str) -> bool:
        """True (and one fewer booked) when command ``name`` must get no answer."""
        if self.unanswered[name] > 0:
            self.unanswered[name] -= 1
            return True
        return False

    def take_lost_prompt(self) -> bool:
        """True (and one fewer booked) when the next ``>`` must not reach the host."""
        if self.lost_prompts:
            self.lost_prompts -= 1
            return True
        return False

    def take_send_fail(self) -> bool:
        """True (and one fewer booked) when the next ``AT+QSSLSEND`` must fail."""
        if self.send_fails:
            self.send_fails -= 1
            return True
        return False

    def take_open_fail(self) -> int:
        """The error code the next open ends with (0: none booked)."""
        return self.open_fails.popleft() if self.open_fails else 0

    def take_slow_handshake(self) -> float:
        """Seconds the next TLS handshake stalls first (0: none booked)."""
        return self.slow_handshakes.popleft() if self.slow_handshakes else 0.0
