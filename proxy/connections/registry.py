"""The connections the proxy holds right now, and its counters.

The service adds a ``ConnectionRecord`` when it accepts a local
connection and removes it when both sides are closed; pumps update the
byte counts as bytes move; the status page reads ``snapshot``.
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass, field

import trio
from trio_util import AsyncValue

from proxy.config.build import Mapping
from proxy.connections.endings import Ending


class ConnectionState(enum.StrEnum):
    """Where a connection is in its life, in order; the value is what the status shows."""

    QUEUED = "queued"            # waiting for a free module socket
    OPENING = "opening"          # AT+QSSLOPEN in progress
    OPEN = "open"                # pumping both ways
    RELEASED = "released"        # idle, module socket given back (idle-release)
    HALF_CLOSED = "half-closed"  # the local client shut down its write side
    CLOSING = "closing"          # closing both sides


QUEUED = ConnectionState.QUEUED
OPENING = ConnectionState.OPENING
OPEN = ConnectionState.OPEN
HALF_CLOSED = ConnectionState.HALF_CLOSED
CLOSING = ConnectionState.CLOSING


@dataclass(eq=False)
class ConnectionRecord:
    """One local connection and its module socket."""

    number: int
    mapping: Mapping
    listen: str   # where it was accepted (the bound address, also with LPORT 0)
    peer: str
    started: float
    cancel_scope: trio.CancelScope = field(default_factory=trio.CancelScope)
    state: ConnectionState = ConnectionState.QUEUED
    client_id: int | None = None
    modem: str | None = None  # the name of its modem, once placed (proxy.modems.names)
    ending: Ending | None = None  # how it ended, once it has
    bytes_up: int = 0     # local -> module
    bytes_down: int = 0   # module -> local

    def as_dict(self, now: float) -> dict[str, object]:
        placed: dict[str, object] = {} if self.modem is None else {"modem": self.modem}
        return {
            **placed,
            "number": self.number,
            "listen": self.listen,
            "remote": str(self.mapping.remote),
            "peer": self.peer,
            "client_id": self.client_id,
            "age_s": round(now - self.started, 3),
            "bytes_up": self.bytes_up,
            "bytes_down": self.bytes_down,
            "state": self.state.value,
        }


@dataclass
class Counters:
    """Totals since start.

    ``open_failures`` (opens that failed) and ``socket_failures`` (open
    sockets that failed mid-stream: the module lost, a send stalled...) are
    keyed by error code, else by the error's kind.  ``ends`` counts every
    ended connection once, by its ``proxy.connections.endings.Ending``; ``resets`` how
    many of them the proxy reset (RST) rather than closed cleanly.  ``refused``
    counts clients a map's allow list turned away (reset at once, never a
    connection: not in ``accepted``).
    """

    accepted: int = 0
    opened: int = 0
    open_failures: Counter[str] = field(default_factory=Counter)
    socket_failures: Counter[str] = field(default_factory=Counter)
    queue_timeouts: int = 0
    bytes_up: int = 0
    bytes_down: int = 0
    ends: Counter[Ending] = field(default_factory=Counter)
    resets: int = 0
    idle_releases: int = 0  # module sockets given back while their clients stayed
    refused: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "accepted": self.accepted,
            "opened": self.opened,
            "open_failures": dict(sorted(self.open_failures.items())),
            "socket_failures": dict(sorted(self.socket_failures.items())),
            "queue_timeouts": self.queue_timeouts,
            "bytes_up": self.bytes_up,
            "bytes_down": self.bytes_down,
            "ends": {ending.value: n for ending, n in sorted(self.ends.items())},
            "resets": self.resets,
            "idle_releases": self.idle_releases,
            "refused": self.refused,
        }


def outcome_of(reason: str) -> str:
    """A connection's end for counting: its reason without the details
    (``"open failed: ..."`` -> ``"open failed"``), a small fixed set."""
    return reason.split(":", 1)[0]


@dataclass
class MapTotals:
    """One map's ended connections by outcome (``outcome_of``) and their bytes; the
    clients its allow list refused."""

    outcomes: Counter[str] = field(default_factory=Counter)
    bytes_up: int = 0
    bytes_down: int = 0
    refused: int = 0


class Registry:
    """Live ``ConnectionRecord`` objects by number, plus ``Counters``, and
    ``map_totals``: per map, the connections that ended."""

    def __init__(self) -> None:
        self.connections: dict[int, ConnectionRecord] = {}
        self.counters = Counters()
        self.map_totals: dict[Mapping, MapTotals] = {}
        self._count = AsyncValue(0)
        self._next = 1

    def add(self, mapping: Mapping, listen: str, peer: str) -> ConnectionRecord:
        record = ConnectionRecord(self._next, mapping, listen, peer, trio.current_time())
        self._next += 1
        self.connections[record.number] = record
        self.counters.accepted += 1
        self._count.value = len(self.connections)
        return record

    def remove(self, record: ConnectionRecord, reason: str = "error") -> None:
        """``record`` ended, for ``reason`` (what ``serve_connection`` returned);
        counted by its ``ending`` (a small fixed set) when it has one."""
        if self.connections.pop(record.number, None) is not None:
            totals = self.map_totals.setdefault(record.mapping, MapTotals())
            ending = record.ending
            totals.outcomes[outcome_of(reason) if ending is None else ending.value] += 1
            totals.bytes_up += record.bytes_up
            totals.bytes_down += record.bytes_down
        self._count.value = len(self.connections)

    def refuse(self, mapping: Mapping) -> None:
        """A client ``mapping``'s allow list does not admit was turned away."""
        self.counters.refused += 1
        self.map_totals.setdefault(mapping, MapTotals()).refused += 1

    def __len__(self) -> int:
        return len(self.connections)

    async def wait_empty(self) -> None:
        await self._count.wait_value(0)

    def snapshot(self) -> dict[str, object]:
        now = trio.current_time()
        return {
            "connections": [r.as_dict(now) for r in self.connections.values()],
            "counters": self.counters.as_dict(),
        }
