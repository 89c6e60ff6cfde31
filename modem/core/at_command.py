"""One AT command and how the module frames its answer (sans-I/O).

``Command`` is what the host sends; its ``Framing`` tells ``AtConnection``
(``modem.core.protocol``, which re-exports both) what the answer holds besides
information lines and a final result.  A leaf module: the command builders
(``modem.core.commands``) and the parser both import it, it imports neither.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Command", "Framing"]


class Framing(enum.Enum):
    """How the module frames its answer to a command, and whether the host
    writes a payload (manual 2.1.2-2.1.5, 2.2; FILE manual, AT+QFUPL).

    Every framing reads the information lines named by the command's
    ``info_prefixes`` and ends with a final result code; they differ in
    what else the command's answer holds.
    """

    LINES = "lines"
    """Information lines and a final result; nothing else."""

    BARE_LINES = "bare lines"
    """As ``LINES``, and every line not starting with ``+`` is information
    too (``ATI``'s manufacturer, model and revision)."""

    PROMPT_PAYLOAD = "prompt payload"
    """The module answers ``> `` (no line end) and the host writes the
    payload (``AT+QSSLSEND``): ``payload_len`` bytes, or any length ended by
    Ctrl-Z when ``payload_len`` is None."""

    CONNECT_PAYLOAD = "connect payload"
    """``CONNECT`` is intermediate: the host then writes ``payload_len``
    bytes and the command goes on (``AT+QFUPL``)."""

    RECV_PAYLOAD = "recv payload"
    """``+QSSLRECV: <n>`` CR LF is followed by n raw bytes, n at most
    ``recv_limit`` (``AT+QSSLRECV``)."""

    DATA_MODE = "data mode"
    """``CONNECT`` ends the command and the line turns transparent
    (``AT+QSSLOPEN`` access mode 2, ``AT+QISWTMD`` to mode 2, ``ATO``)."""


_PAYLOAD_FRAMINGS = (Framing.PROMPT_PAYLOAD, Framing.CONNECT_PAYLOAD)


@dataclass(frozen=True, slots=True)
class Command:
    """One AT command and what its response looks like.

    ``text`` is the command line without the CR.  ``info_prefixes`` name the
    information lines that belong to it (``"+QIACT"`` matches
    ``+QIACT: ...``).  ``framing`` says what else its answer holds (see
    ``Framing``); ``payload_len`` is the payload's size for the two framings
    whose host writes one (required for ``CONNECT_PAYLOAD``, None for a
    Ctrl-Z ended ``PROMPT_PAYLOAD``) and ``recv_limit`` the largest
    ``+QSSLRECV`` payload for ``RECV_PAYLOAD``; other framings take neither,
    and building one with them raises ``ValueError``.  ``timeout`` is the
    maximum response time in seconds.  ``log_text`` is what logs may show
    (secrets replaced); it defaults to ``text``.
    """

    text: str
    info_prefixes: tuple[str, ...] = ()
    framing: Framing = Framing.LINES
    payload_len: int | None = None
    recv_limit: int | None = None
    timeout: float = 5.0
    log_text: str | None = None

    def __post_init__(self) -> None:
        framing = self.framing
        if self.payload_len is not None:
            if framing not in _PAYLOAD_FRAMINGS:
                raise ValueError(f"payload_len does not go with {framing}")
            if self.payload_len < 0:
                raise ValueError(f"payload_len must not be negative, got {self.payload_len}")
        elif framing is Framing.CONNECT_PAYLOAD:
            raise ValueError(f"{framing} needs a payload_len")
        if self.recv_limit is not None:
            if framing is not Framing.RECV_PAYLOAD:
                raise ValueError(f"recv_limit does not go with {framing}")
            if self.recv_limit < 1:
                raise ValueError(f"recv_limit must be at least 1, got {self.recv_limit}")
        elif framing is Framing.RECV_PAYLOAD:
            raise ValueError(f"{framing} needs a recv_limit")

    def encode(self) -> bytes:
        return self.text.encode("ascii") + b"\r"

    @property
    def loggable(self) -> str:
        return self.text if self.log_text is None else self.log_text
