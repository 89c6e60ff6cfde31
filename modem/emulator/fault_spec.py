"""The ``--fault`` spec syntax: ``NAME[:ARG[,ARG]][@TIME]`` (``modem.emulator.faults``
lists the names and their arguments)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import faults as module_faults
from . import line_faults
from .faults import Fault

__all__ = ["KINDS", "FaultPlan", "parse_fault_spec"]

KINDS: dict[str, type[Fault]] = {
    kind.kind: kind
    for kind in (module_faults.PeerClose, module_faults.PdpDeact, module_faults.Restart,
                 module_faults.Silence, module_faults.Noise, module_faults.SendFail,
                 module_faults.SlowHandshake, module_faults.UrcLoss, module_faults.Deregister,
                 module_faults.OpenFail, module_faults.HoldPushes, module_faults.Unanswered,
                 line_faults.PushByteLoss, line_faults.PushHeaderLoss, line_faults.LostPrompt,
                 line_faults.RecvHeadLoss, line_faults.MuxFcsErrors, line_faults.MuxByteLoss,
                 line_faults.MuxStatusLoss, line_faults.DlcSilent, line_faults.DlcLag)
}
"""Every fault a spec may name, by its name."""


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
        kind = KINDS.get(name)
        if kind is None:
            raise ValueError(f"no fault called {name!r}")
        fault = kind.from_args(args)
    except ValueError as exc:
        raise ValueError(f"bad fault spec {spec!r}: {exc}") from exc
    return FaultPlan(fault, at=at)
