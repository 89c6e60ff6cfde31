"""Faults of the line: bytes, prompts, answers and multiplexer frames lost on the way.

Spec names and arguments are listed with the others in ``modem.emulator.faults``;
``modem.emulator.fault_spec.KINDS`` gathers both modules' kinds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from .faults import Fault, FaultState

if TYPE_CHECKING:
    from .module import Module

__all__ = ["DlcLag", "DlcSilent", "LostPrompt", "MuxByteLoss", "MuxFcsErrors", "MuxStatusLoss",
           "PushByteLoss", "PushHeaderLoss", "RecvHeadLoss"]


@dataclass(frozen=True)
class PushByteLoss(Fault):
    """Each push frame loses one byte of its data with probability ``rate``."""

    kind: ClassVar[str] = "push_byte_loss"
    rate: float
    name_only: bool = False  # (header loss) spare the numbers: the frame's length holds

    def span(self, unit: bytes) -> tuple[int, int]:
        """Where in ``unit`` the lost byte may be: its data."""
        return unit.index(b"\r\n", 2) + 2, len(unit) - 2

    def apply(self, module: Module, state: FaultState) -> None:
        def lose_a_byte(unit: bytes) -> bytes:
            lo, hi = self.span(unit)
            if hi <= lo or state.rng.random() >= self.rate:
                return unit
            at = state.rng.randrange(lo, hi)
            return unit[:at] + unit[at + 1:]

        module.push_mangle = lose_a_byte if self.rate > 0 else None

    @classmethod
    def from_args(cls, args: list[str]) -> Fault:
        if not 1 <= len(args) <= 2 or args[1:] not in ([], ["name"]):
            raise ValueError("want RATE[,name]")
        return cls(float(args[0]), name_only=args[1:] == ["name"])


@dataclass(frozen=True)
class PushHeaderLoss(PushByteLoss):
    """Each push frame loses one byte of its header line with probability
    ``rate``; ``name_only``: only of ``+QSSLURC: "recv",`` (not its numbers)."""

    kind: ClassVar[str] = "push_header_loss"

    def span(self, unit: bytes) -> tuple[int, int]:
        end = unit.index(b"\r\n", 2)
        return 3, (unit.index(b'",', 2) + 2 if self.name_only else end)


@dataclass(frozen=True)
class _NextCount(Fault):
    """A fault of the next ``count`` (default 1) of something; spec ``NAME[:COUNT]``."""

    count: int = 1

    @classmethod
    def from_args(cls, args: list[str]) -> Fault:
        if len(args) > 1:
            raise ValueError("want [COUNT]")
        return cls(int(args[0]) if args else 1)


@dataclass(frozen=True)
class LostPrompt(_NextCount):
    """The next ``count`` ``AT+QSSLSEND`` prompts are lost on the line: the
    module waits for the payload, the host never saw the ``>``."""

    kind: ClassVar[str] = "lost_prompt"

    def apply(self, module: Module, state: FaultState) -> None:
        module.pending_faults.lost_prompts += self.count


@dataclass(frozen=True)
class _FramesBooked(_NextCount):
    """The multiplexer's next ``count`` frames of a kind are spoilt (``NAME:0`` ends
    what is left); ``booked`` names the ``PendingFaults`` count it sets."""

    booked: ClassVar[str]

    def apply(self, module: Module, state: FaultState) -> None:
        setattr(module.pending_faults, self.booked, self.count)


@dataclass(frozen=True)
class MuxFcsErrors(_FramesBooked):
    """The next ``count`` frames the multiplexer writes carry a broken FCS."""

    kind: ClassVar[str] = "mux_fcs_errors"
    booked: ClassVar[str] = "fcs_errors"


@dataclass(frozen=True)
class MuxByteLoss(_FramesBooked):
    """The next ``count`` data frames that can be cut to a size whose FCS is 0xF9
    are, and lose one information byte: a loss the FCS cannot show."""

    kind: ClassVar[str] = "mux_byte_loss"
    booked: ClassVar[str] = "byte_losses"


@dataclass(frozen=True)
class MuxStatusLoss(_FramesBooked):
    """The next ``count`` MSC commands the host sends are lost on the way (a broken
    FCS): the module neither takes their signals nor answers them."""

    kind: ClassVar[str] = "mux_status_loss"
    booked: ClassVar[str] = "status_losses"


@dataclass(frozen=True)
class DlcSilent(Fault):
    """DLC ``dlci`` (1-63) drops every frame both ways until the multiplexer closes."""

    kind: ClassVar[str] = "dlc_silent"
    dlci: int

    def __post_init__(self) -> None:
        if not 1 <= self.dlci <= 63:
            raise ValueError(f"dlc_silent needs a DLC 1-63, not {self.dlci}")

    def apply(self, module: Module, state: FaultState) -> None:
        module.pending_faults.silent_dlcs.add(self.dlci)

    @classmethod
    def from_args(cls, args: list[str]) -> Fault:
        return cls(int(args[0]))


@dataclass(frozen=True)
class RecvHeadLoss(_NextCount):
    """The next ``count`` ``AT+QSSLRECV`` answers that carry data lose their
    ``+QSSLRECV: <n>`` line and the first half of the data; the rest and the ``OK``
    arrive (what a dropped multiplexer frame does to a read's answer)."""

    kind: ClassVar[str] = "recv_head_loss"

    def apply(self, module: Module, state: FaultState) -> None:
        module.pending_faults.recv_head_losses += self.count


@dataclass(frozen=True)
class DlcLag(Fault):
    """DLC ``dlci``'s AT port reads each frame from the host ``seconds`` after it
    arrived (in order; a busy AT task), until the multiplexer closes: its
    commands run that much later than the other DLCs' sent after them."""

    kind: ClassVar[str] = "dlc_lag"
    dlci: int
    seconds: float

    def __post_init__(self) -> None:
        if not 1 <= self.dlci <= 63 or not self.seconds >= 0:
            raise ValueError(f"dlc_lag needs a DLC 1-63 and seconds >= 0, not {self}")

    def apply(self, module: Module, state: FaultState) -> None:
        module.pending_faults.dlc_lags[self.dlci] = self.seconds

    @classmethod
    def from_args(cls, args: list[str]) -> Fault:
        if len(args) != 2:
            raise ValueError("want DLC,SECONDS")
        return cls(int(args[0]), float(args[1]))
