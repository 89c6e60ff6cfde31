"""Faults a test or a user can inject, one class per kind (the line's in ``line_faults``).

``Fault`` values (``await emu.inject(Fault.peer_close(3))``):

* ``peer_close(client_id)``: the server drops the connection;
* ``pdp_deact(context_id=1)``: ``+QIURC: "pdpdeact",<id>``, its sockets close;
* ``restart()``: the module reboots (only ``UFS:`` files survive);
* ``silence(seconds)``: the module answers nothing and drops input (its
  sockets' data and queued URCs wait for the silence to end);
* ``noise(count)``: unknown URCs and blank lines between responses;
* ``send_fail(count)``: the next ``count`` ``AT+QSSLSEND`` answer ``SEND FAIL``;
* ``slow_handshake(seconds, count=1)``: the next opens stall their handshake;
* ``urc_loss(rate, kinds=())``: from now on each socket URC (``open``, ``recv``, ``closed``;
  all three unless ``kinds`` names some) is lost on the line with probability ``rate``
  (seeded), as UART byte loss does;
* ``open_fail(code, count=1)``: the next ``count`` opens end with ``+QSSLOPEN: <id>,<code>``
  (e.g. 569, the operation timed out, or 561, the PDP context could not be opened: the
  carrier's failures);
* ``deregister(seconds)``: the module is not registered for ``seconds``
  (``+CREG``/``+CGREG``/``+CEREG`` read stat 2, searching); 0 ends it;
* ``push_byte_loss(rate)`` / ``push_header_loss(rate, name_only=False)``: each push frame
  loses one byte of its data / of its header line (only of its ``+QSSLURC: "recv",`` part
  with ``name_only``) with probability ``rate`` (seeded), as a UART without flow control
  does;
* ``hold_pushes(client_id)``: that socket's next push frames wait until the next command's
  answer is written, which overtakes them;
* ``unanswered(command, count=1)``: the next ``count`` commands named ``command``
  (``+QSSLCLOSE``) are read and get no answer at all;
* ``lost_prompt(count=1)``: the next ``count`` ``AT+QSSLSEND`` prompts are lost on the line;
  the module waits for the payload all the same;
* ``recv_head_loss(count=1)``: the next ``count`` ``AT+QSSLRECV`` answers with data lose
  their ``+QSSLRECV`` line and the first half of the data, the ``OK`` kept;
* under ``AT+CMUX`` (``MuxFcsErrors``, ``MuxByteLoss``, ``MuxStatusLoss``, ``DlcSilent``,
  ``DlcLag``): the next ``count`` frames the module writes carry a broken FCS, or lose a
  byte; the host's next ``count`` MSCs are lost; DLC ``dlci`` stops answering, or reads
  what it gets ``seconds`` late.

Spec strings (CLI ``--fault``): ``NAME[:ARG[,ARG]][@TIME]`` where TIME is seconds after
start (``5s``, ``1.5``, ``250ms``); without ``@`` the fault applies at start. Examples:
``peer_close:3@5s``, ``restart@10s``, ``noise:20``, ``silence:3@2s``, ``pdp_deact:1@30s``,
``send_fail:5``, ``slow_handshake:20``, ``urc_loss:0.3``, ``urc_loss:1,recv,closed``,
``push_byte_loss:0.05``, ``hold_pushes:3``, ``unanswered:+QSSLCLOSE,1``, ``lost_prompt``,
``recv_head_loss``, ``mux_fcs_errors:20``, ``mux_byte_loss:1``, ``mux_status_loss:1``,
``dlc_silent:2@30s``, ``dlc_lag:2,0.5``.
``random:RATE`` injects a random mild fault (noise, send_fail, peer_close of a connected
socket) after each command with probability RATE, drawn from the seeded generator.
"""

from __future__ import annotations

import functools
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import trio

from .pending_faults import NOISE_LINES as NOISE_LINES
from .pending_faults import FaultState as FaultState
from .ssl_sockets import SocketState

if TYPE_CHECKING:
    from .module import Module

@dataclass(frozen=True)
class Fault(ABC):
    """One injectable fault; build it with the class methods (or a ``--fault`` spec)."""

    #: The spec name (``peer_close``); also what ``history`` entries report.
    kind: ClassVar[str]

    @abstractmethod
    def apply(self, module: Module, state: FaultState) -> None:
        """Do it to ``module`` now."""

    @classmethod
    @abstractmethod
    def from_args(cls, args: list[str]) -> Fault:
        """The fault a spec's ``ARG,ARG`` asks for; ValueError if they do not fit."""

    @staticmethod
    def peer_close(client_id: int) -> Fault:
        return PeerClose(client_id)

    @staticmethod
    def pdp_deact(context_id: int = 1) -> Fault:
        return PdpDeact(context_id)

    @staticmethod
    def restart() -> Fault:
        return Restart()

    @staticmethod
    def silence(seconds: float) -> Fault:
        return Silence(seconds)

    @staticmethod
    def noise(count: int) -> Fault:
        return Noise(count)

    @staticmethod
    def send_fail(count: int = 1) -> Fault:
        return SendFail(count)

    @staticmethod
    def slow_handshake(seconds: float, count: int = 1) -> Fault:
        return SlowHandshake(seconds, count)

    @staticmethod
    def urc_loss(rate: float, kinds: tuple[str, ...] = ()) -> Fault:
        return UrcLoss(rate, kinds)

    @staticmethod
    def hold_pushes(client_id: int) -> Fault:
        return HoldPushes(client_id)

    @staticmethod
    def deregister(seconds: float) -> Fault:
        return Deregister(seconds)

    @staticmethod
    def open_fail(code: int, count: int = 1) -> Fault:
        return OpenFail(code, count)


@dataclass(frozen=True)
class PeerClose(Fault):
    """The server (or the network) drops socket ``client_id``, if it is connected."""

    kind: ClassVar[str] = "peer_close"
    client_id: int

    def apply(self, module: Module, state: FaultState) -> None:
        sock = module.sockets.get(self.client_id)
        if sock is not None:
            sock.drop_connection()

    @classmethod
    def from_args(cls, args: list[str]) -> Fault:
        (client_id,) = args
        return cls(int(client_id))


@dataclass(frozen=True)
class PdpDeact(Fault):
    """The network deactivates an active context: ``+QIURC: "pdpdeact"``, its sockets drop."""

    kind: ClassVar[str] = "pdp_deact"
    context_id: int = 1

    def apply(self, module: Module, state: FaultState) -> None:
        ctx = module.pdp.get(self.context_id)
        if ctx is None or not ctx.active:
            return
        ctx.active = False
        module.post_urc(b'\r\n+QIURC: "pdpdeact",%d\r\n' % self.context_id)
        for sock in list(module.sockets.values()):
            if sock.pdp_id == self.context_id:
                sock.drop_connection()

    @classmethod
    def from_args(cls, args: list[str]) -> Fault:
        return cls(int(args[0]) if args else 1)


@dataclass(frozen=True)
class Restart(Fault):
    """The module reboots, as after ``AT+CFUN=1,1``."""

    kind: ClassVar[str] = "restart"

    def apply(self, module: Module, state: FaultState) -> None:
        module.restart()

    @classmethod
    def from_args(cls, args: list[str]) -> Fault:
        if args:
            raise ValueError("restart takes no arguments")
        return cls()


@dataclass(frozen=True)
class Silence(Fault):
    """For ``seconds`` the module drops its input and writes nothing."""

    kind: ClassVar[str] = "silence"
    seconds: float

    def apply(self, module: Module, state: FaultState) -> None:
        module.silence(self.seconds)

    @classmethod
    def from_args(cls, args: list[str]) -> Fault:
        (seconds,) = args
        return cls(float(seconds))


@dataclass(frozen=True)
class Noise(Fault):
    """``count`` unknown URCs and blank lines, a few ms apart, between responses."""

    kind: ClassVar[str] = "noise"
    count: int

    def apply(self, module: Module, state: FaultState) -> None:
        module.spawn(functools.partial(_post_noise, module, state.noise_lines(self.count)))

    @classmethod
    def from_args(cls, args: list[str]) -> Fault:
        return cls(int(args[0]) if args else 10)


async def _post_noise(module: Module, lines: list[tuple[float, bytes]]) -> None:
    for pause, noise in lines:
        await trio.sleep(pause)
        module.post_urc(noise)


@dataclass(frozen=True)
class SendFail(Fault):
    """The next ``count`` ``AT+QSSLSEND`` answer ``SEND FAIL``."""

    kind: ClassVar[str] = "send_fail"
    count: int = 1

    def apply(self, module: Module, state: FaultState) -> None:
        module.pending_faults.send_fails += self.count

    @classmethod
    def from_args(cls, args: list[str]) -> Fault:
        return cls(int(args[0]) if args else 1)


@dataclass(frozen=True)
class SlowHandshake(Fault):
    """The next ``count`` opens wait ``seconds`` before their TLS handshake."""

    kind: ClassVar[str] = "slow_handshake"
    seconds: float
    count: int = 1

    def apply(self, module: Module, state: FaultState) -> None:
        module.pending_faults.slow_handshakes.extend([self.seconds] * self.count)

    @classmethod
    def from_args(cls, args: list[str]) -> Fault:
        if not 1 <= len(args) <= 2:
            raise ValueError("want SECONDS[,COUNT]")
        return cls(float(args[0]), int(args[1]) if len(args) > 1 else 1)


#: The socket URCs ``urc_loss`` can lose, by the line's start.  The push-mode
#: "recv" (which carries data) is never lost: losing it would lose bytes, a
#: different fault.
URC_KINDS = {
    "open": re.compile(rb"^\r\n\+QSSLOPEN: "),
    "recv": re.compile(rb'^\r\n\+QSSLURC: "recv",\d+\r\n$'),
    "closed": re.compile(rb'^\r\n\+QSSLURC: "closed",'),
    "pdpdeact": re.compile(rb'^\r\n\+QIURC: "pdpdeact",'),
}


@dataclass(frozen=True)
class UrcLoss(Fault):
    """From now on each socket URC of ``kinds`` (all when empty) is lost with
    probability ``rate``, drawn from the seeded generator; a later ``urc_loss``
    replaces an earlier one (``urc_loss:0`` ends the loss)."""

    kind: ClassVar[str] = "urc_loss"
    rate: float
    kinds: tuple[str, ...] = ()

    def apply(self, module: Module, state: FaultState) -> None:
        patterns = [URC_KINDS[k] for k in (self.kinds or tuple(URC_KINDS))]

        def keep(urc: bytes) -> bool:
            if not any(p.match(urc) for p in patterns):
                return True
            return state.rng.random() >= self.rate

        module.routing.urc_filter = keep if self.rate > 0 else None

    @classmethod
    def from_args(cls, args: list[str]) -> Fault:
        if not args:
            raise ValueError("want RATE[,KIND...] with KIND one of " + ", ".join(URC_KINDS))
        rate = float(args[0])
        if not 0 <= rate <= 1:
            raise ValueError(f"rate {rate:g} is not between 0 and 1")
        kinds = tuple(args[1:])
        unknown = [k for k in kinds if k not in URC_KINDS]
        if unknown:
            raise ValueError(f"no URC kind {unknown[0]!r} (want {', '.join(URC_KINDS)})")
        return cls(rate, kinds)


@dataclass(frozen=True)
class Deregister(Fault):
    """For ``seconds`` the network does not register the module (coverage lost, the
    carrier refusing it): registration reads report stat 2 (searching).  Only the
    registration reads change; what opens do meanwhile on real firmware is not
    documented, so they keep working (a guess, the tolerant one)."""

    kind: ClassVar[str] = "deregister"
    seconds: float

    def apply(self, module: Module, state: FaultState) -> None:
        module.unregistered_until = trio.current_time() + self.seconds

    @classmethod
    def from_args(cls, args: list[str]) -> Fault:
        (seconds,) = args
        return cls(float(seconds))


@dataclass(frozen=True)
class OpenFail(Fault):
    """The next ``count`` opens end with ``+QSSLOPEN: <id>,<code>`` (550-574)."""

    kind: ClassVar[str] = "open_fail"
    code: int
    count: int = 1

    def __post_init__(self) -> None:
        if not 550 <= self.code <= 574:
            raise ValueError(f"open_fail code {self.code} is not an SSL error code 550-574")

    def apply(self, module: Module, state: FaultState) -> None:
        module.pending_faults.open_fails.extend([self.code] * self.count)

    @classmethod
    def from_args(cls, args: list[str]) -> Fault:
        if not 1 <= len(args) <= 2:
            raise ValueError("want CODE[,COUNT]")
        return cls(int(args[0]), int(args[1]) if len(args) > 1 else 1)


@dataclass(frozen=True)
class HoldPushes(Fault):
    """``client_id``'s next push frames wait for the next command's answer."""

    kind: ClassVar[str] = "hold_pushes"
    client_id: int

    def apply(self, module: Module, state: FaultState) -> None:
        module.held_ids.add(self.client_id)

    @classmethod
    def from_args(cls, args: list[str]) -> Fault:
        (client_id,) = args
        return cls(int(client_id))


@dataclass(frozen=True)
class Unanswered(Fault):
    """The next ``count`` commands named ``command`` get no answer."""

    kind: ClassVar[str] = "unanswered"
    command: str
    count: int = 1

    def apply(self, module: Module, state: FaultState) -> None:
        module.pending_faults.unanswered[self.command.upper()] += self.count

    @classmethod
    def from_args(cls, args: list[str]) -> Fault:
        if not 1 <= len(args) <= 2:
            raise ValueError("want COMMAND[,COUNT]")
        return cls(args[0], int(args[1]) if len(args) > 1 else 1)


async def inject(module: Module, state: FaultState, fault: Fault) -> None:
    """Apply ``fault`` to ``module`` now and record it in ``state.history``."""
    state.history.append(fault)
    fault.apply(module, state)
    await trio.lowlevel.checkpoint()


def random_fault(module: Module, state: FaultState) -> Fault:
    """A mild fault for ``random:RATE`` (drawn from the seeded generator)."""
    rng = state.rng
    connected = sorted(
        cid for cid, s in module.sockets.items() if s.state == SocketState.CONNECTED
    )
    choices = [Fault.noise(rng.randint(1, 4)), Fault.send_fail(1)]
    if connected:
        choices.append(Fault.peer_close(rng.choice(connected)))
    return rng.choice(choices)
