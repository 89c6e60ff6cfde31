"""Placement's choice and the fault rules, as pure functions (``proxy.modems.placement``)."""

from __future__ import annotations

from modem.core.errors import (
    DnsParseFailed,
    ModuleNotReady,
    ModuleTimeout,
    OperationTimeout,
    PdpContextBrokeDown,
    SocketConnectionFailed,
)
from proxy.modems.placement import Candidate, OpenHealth, Verdict, choose, is_modem_fault


def modem(name: str, order: int, *, ready: bool = True, registered: bool | None = True,
          failing: bool = False, free: int = 12, line: float = 0.0) -> Candidate:
    return Candidate(name, order, ready, registered, failing, free, 12 - free, line)


def test_least_busy_first_then_line_load_then_order():
    a, b, c = modem("a", 0, free=5), modem("b", 1, free=7, line=0.9), modem("c", 2, free=7)
    assert choose([a, b, c]) is c          # b and c hold 5 each; c's line is quieter
    assert choose([a, modem("b", 1, free=7)]).name == "b"
    assert choose([modem("a", 0), modem("b", 1)]).name == "a"  # a full tie: order


def test_lost_recovering_unregistered_and_failing_modems():
    a = modem("a", 0, ready=False)             # lost or recovering
    b = modem("b", 1, registered=False)        # answers, but not registered
    c = modem("c", 2, failing=True, free=12)   # failing its opens: last resort
    d = modem("d", 3, free=1)
    assert choose([a, b, c, d]).name == "d"
    assert choose([a, b, c]).name == "c"
    assert choose([a, b, modem("c", 2, free=0)]) is Verdict.WAIT   # ready ones are full: wait
    # None ready at all: any free ID, so the open fails at once as with one modem.
    assert choose([a, modem("e", 4, ready=False, free=0)]).name == "a"
    assert choose([modem("a", 0, ready=False, free=0)]) is Verdict.NONE


def test_eligible_and_excluded():
    a, b = modem("a", 0), modem("b", 1, free=3)
    assert choose([a, b], eligible=("b",)).name == "b"
    assert choose([a, b], exclude=("a",)).name == "b"
    assert choose([a, modem("b", 1, free=0)], eligible=("b",)) is Verdict.WAIT


def test_whose_fault_a_failed_open_is():
    assert not is_modem_fault(DnsParseFailed(565, "x"))
    assert not is_modem_fault(SocketConnectionFailed(566, "x"))
    for exc in (ModuleNotReady("recovering"), ModuleTimeout("t"), OperationTimeout(569, "x"),
                PdpContextBrokeDown(570, "x")):
        assert is_modem_fault(exc), exc


def test_a_run_of_network_failures_passes_a_modem_over_for_a_while():
    health = OpenHealth(streak=3, cooldown=30)
    timeout = OperationTimeout(569, "x")
    assert not health.record(timeout, 0) and not health.record(timeout, 1)
    assert not health.record(SocketConnectionFailed(566, "x"), 1)  # the remote's: not counted
    assert health.record(timeout, 2) and health.failing(2) and health.failing(31)
    assert not health.failing(32.5)                                 # tried again
    health.record(None, 33)
    assert health.streak == 0 and not health.failing(33)
