"""``AT+CMUX``: switch the port's line to the 27.010 multiplexer (27.007 5.7).

``AT+CMUX=<mode>[,<subset>[,<port_speed>[,<N1>[,<T1>[,<N2>[,<T2>[,<T3>[,<k>]]]]]]]]``:
the basic option (mode 0) with UIH frames (subset 0) only, as Quectel's
multiplexer notes state for their modules; the rest is range-checked and,
but for N1, not used (the emulator neither retransmits nor sleeps).  The
ranges and the read form's defaults are those of Quectel's M10 AT manual
(3.2.44: ``+CMUX: 0,0,5,127,10,3,30,10,2``); the EC2x manual is not at
hand, so they are a guess for it; ``cmux_n1_max`` plays firmware that
takes smaller frames (the test form lists it, a larger N1 is refused).
It answers ``OK``, then the line carries frames (``cmux.engine``) until
the host closes the multiplexer down, and the port answers AT commands
again.  A DLC's port refuses a
second ``AT+CMUX``.  Firmware without it: ``absent_commands={"+CMUX"}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import trio

from .cmux.engine import run_mux
from .fields import ParamError, int_field
from .registry import CommandTable
from .request import Form, Request
from .responses import ERROR, OK, info

if TYPE_CHECKING:
    from .module import Module

COMMANDS = CommandTable()

#: Each parameter's range and default (M10 AT manual 3.2.44; a guess for the EC2x).
_PARAMETERS = (
    ("mode", 0, 0, 0), ("subset", 0, 0, 0), ("port_speed", 1, 7, 5), ("N1", 1, 32768, 127),
    ("T1", 1, 255, 10), ("N2", 0, 100, 3), ("T2", 2, 255, 30), ("T3", 1, 255, 10),
    ("k", 1, 7, 2),
)
_DEFAULTS = ",".join(str(default) for *_, default in _PARAMETERS)


def _ranges(n1_max: int) -> list[tuple[str, int, int, int]]:
    """``_PARAMETERS`` with N1's top at ``n1_max`` (``EmulatorConfig.cmux_n1_max``)."""
    return [(name, low, n1_max if name == "N1" else high, default)
            for name, low, high, default in _PARAMETERS]


@COMMANDS.command("+CMUX", forms={Form.TEST, Form.READ, Form.WRITE})
async def cmux(module: Module, req: Request) -> bytes | None:
    ranges = _ranges(module.config.cmux_n1_max)
    if req.form is Form.TEST:
        return info("+CMUX: " + ",".join(
            f"({low})" if low == high else f"({low}-{high})" for _, low, high, _ in ranges))
    if req.form is Form.READ:
        return info(f"+CMUX: {_DEFAULTS}")
    fields = req.fields
    if len(fields) > len(ranges):
        raise ParamError("fields")
    values = [int_field(fields, i, low, high, default=default)
              for i, (_, low, high, default) in enumerate(ranges)]
    port = req.port
    if port.dlci is not None:
        return ERROR
    await port.line.write(OK)
    await run_mux(module, port, n1=values[3], ok_sent_at=trio.current_time())
    return None
