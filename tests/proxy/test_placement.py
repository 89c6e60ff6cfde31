"""Placement's choice and the fault rules, as pure functions (``proxy.modems.placement``)."""

from __future__ import annotations

import modem.bringup.steps
import modem.link.channel
import proxy.errors
from modem.core.errors import (
    CmeError,
    DnsParseFailed,
    LocalMistake,
    ModemError,
    ModuleBusy,
    ModuleFault,
    ModuleLost,
    ModuleNotReady,
    ModuleTimeout,
    NetworkDown,
    OpenOutcomeLost,
    OperationTimeout,
    PdpContextBrokeDown,
    RemoteRefused,
    SocketConnectionFailed,
    error_for_code,
)
from modem.core.module_state import ModuleState
from proxy.modems.placement import (
    Candidate,
    OpenHealth,
    Verdict,
    choose,
    is_modem_fault,
    is_network_failure,
)

# The rules placement kept as its own integer tables before the errors
# classified themselves; the verdicts must not change.
REMOTE_CODES = {565, 566, 567}          # DNS, refused or TLS, closed during the open
NETWORK_CODES = {561, 569, 570, 573}    # PDP context, timeout, PDP broke down, no APN
NETWORK_CLASSES = (ModuleTimeout, OpenOutcomeLost)  # no code, counted all the same
KINDS = {RemoteRefused, NetworkDown, ModuleBusy, LocalMistake, ModuleFault}  # never raised bare
DEFINED_ELSEWHERE = (modem.bringup.steps.BringUpError, modem.link.channel.ModuleRestarted,
                     proxy.errors.PortLost)


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
    for exc in (ModuleNotReady(ModuleState.RECOVERING), ModuleTimeout("t"),
                OperationTimeout(569, "x"),
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


def _old_verdict(exc: ModemError) -> tuple[bool, bool]:
    """(the modem's fault, a network failure) by the old tables."""
    code = exc.code if isinstance(exc, CmeError) else None
    network = code in NETWORK_CODES or (isinstance(exc, NETWORK_CLASSES)
                                        and not isinstance(exc, ModuleLost))
    return code not in REMOTE_CODES, network


def _subclasses(cls: type[ModemError]) -> set[type[ModemError]]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def test_every_code_keeps_its_verdict():
    for code in range(550, 575):
        exc = error_for_code(code, "open h:443")
        assert (is_modem_fault(exc), is_network_failure(exc)) == _old_verdict(exc), code


def test_every_modem_error_class_keeps_its_verdict():
    classes = _subclasses(ModemError) - KINDS
    assert set(DEFINED_ELSEWHERE) <= classes and len(classes) > 40
    for cls in classes:
        exc = cls.__new__(cls)  # placement looks at the class (and a class's code) only
        assert (is_modem_fault(exc), is_network_failure(exc)) == _old_verdict(exc), cls
