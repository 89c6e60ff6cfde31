"""What a command on the AT channel ends with, and how the channel tells it.

``Response`` (the lines, payload and final result of one command), the
pending command the reader fills in, ``Ahead`` (a command sent ahead for its
caller), ``LineState`` and ``RdyMeans`` (the channel's view of the module),
the failures only the channel raises (``NoAnswer``, ``ModuleRestarted``),
how events are described in the AT trace (payload lengths, never bytes
unless asked), and ``DataSink`` (who takes the line in transparent mode).
``modem.link.channel`` is their one user besides callers.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeAlias

import trio

from modem.core import events as ev
from modem.core.errors import ModemError, ModuleLost
from modem.core.protocol import Command
from modem.core.redaction import module_line, redact

__all__ = ["Ahead", "LineState", "ModuleRestarted", "NoAnswer", "Pending", "RdyMeans",
           "Response", "ThenFn", "describe", "shorten"]


class NoAnswer(ModuleLost):
    """Bring-up's ``AT`` got no ``OK`` at all (``sync``): a wrong port, a module
    off, or one at another line speed (``modem.link.line_speed``)."""


class ModuleRestarted(ModuleLost):
    """The module printed ``RDY``: it restarted and lost every socket and setting."""


class RdyMeans(enum.Enum):
    """What a ``RDY`` line (the module finished booting) means to the channel's owner."""

    BOOTING = "booting"
    """Count it: a module powered up while the bring-up syncs prints one."""
    SOCKETS_LOST = "sockets lost"
    """Break the channel: the module restarted under live sockets."""


class LineState(enum.Enum):
    """Whether the module and the channel agree on which command is in flight."""

    IN_STEP = "in step"
    NEEDS_RESYNC = "needs resync"
    """A command timed out or broke the framing: its answer may still come,
    so the next command first runs ``AT`` until ``OK``."""


@dataclass
class Response:
    """What one command produced: information lines, payload, final result."""

    command: Command
    lines: list[str] = field(default_factory=list)
    payload: bytes | None = None
    final: ev.FinalResult | None = None
    ahead: Ahead | None = None
    """The command ``run``/``collect`` sent ahead after this one (``then``)."""

    @property
    def ok(self) -> bool:
        return isinstance(self.final, ev.Ok)


class Pending:
    """A command on the wire: its response as the reader fills it in."""

    __slots__ = ("response", "prompted", "prompt_seen", "done", "violation")

    def __init__(self, command: Command) -> None:
        self.response = Response(command)
        self.prompted = trio.Event()  # also set when the channel fails
        self.prompt_seen = False  # the module's prompt came: it waits for the payload
        self.done = trio.Event()
        self.violation: str | None = None


class Ahead:
    """A command sent ahead for its caller; ``AtChannel.collect`` gives its response.

    ``outcome`` is set once its answer has ended (or failed), by whichever
    task needed the line first.
    """

    __slots__ = ("command", "deadline", "outcome", "_pending")

    def __init__(self, pending: Pending, deadline: float) -> None:
        self.command = pending.response.command
        self.deadline = deadline
        self.outcome: Response | ModemError | None = None
        self._pending = pending


#: Given a response, the command to send ahead after it (None: nothing).
ThenFn: TypeAlias = Callable[[Response], Command | None]


def shorten(data: bytes, keep: int = 24, *, show_head: bool = False) -> str:
    """A payload for the trace: its length, and only with ``show_head`` its
    first bytes (user data may hold credentials: ``--trace-payload``)."""
    if not show_head:
        return f"[{len(data)} bytes]"
    head = data[:keep]
    more = "..." if len(data) > keep else ""
    return f"[{len(data)} bytes {head!r}{more}]"


def describe(event: ev.Event, show_head: bool = False) -> str:
    """One event as the AT trace shows it."""
    if isinstance(event, (ev.RecvPayload, ev.TransparentData)):
        return f"{type(event).__name__} {shorten(event.data, show_head=show_head)}"
    if isinstance(event, ev.SslPushData):
        return f"SslPushData id={event.client_id} {shorten(event.data, show_head=show_head)}"
    if isinstance(event, (ev.InfoLine, ev.UnknownUrc)):
        return module_line(event.text, show_head)
    if isinstance(event, ev.Echo):
        return redact(event.text)
    return repr(event)


class DataSink(Protocol):
    """Who takes the line while it is, or was just, in transparent mode
    (``AtChannel.data_sink``; ``modem.sockets.transparent_session``)."""

    def take(self, event: ev.Event) -> None:
        """A transparent byte run, a URC, or an answer with no command waiting."""

    async def room(self, held: int) -> None:
        """After each read, until there is room for more (the line's backpressure);
        ``held``: bytes held back as a possible end marker."""
