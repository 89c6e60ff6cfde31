"""3GPP 27.007 basics and identification (``ATI``, ``AT+CMEE``, ``AT+CCLK`` ...)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import trio

from .clock import network_time_text
from .fields import ParamError, int_field, str_field
from .responses import ERROR, OK, info

if TYPE_CHECKING:
    from .at_commands import CommandProcessor, Request

MANUFACTURER = "Quectel"
MODEL = "EC25"
REVISION = "EC25EFAR06A06M4G"


async def ati(proc: CommandProcessor, req: Request) -> bytes:
    return info(MANUFACTURER, MODEL, f"Revision: {REVISION}")


def _constant(*lines: str):
    async def handler(proc: CommandProcessor, req: Request) -> bytes:
        if req.kind == "test":
            return OK
        if req.kind != "exec":
            return ERROR
        return info(*lines)

    return handler


async def cmee(proc: CommandProcessor, req: Request) -> bytes:
    if req.kind == "query":
        return info(f"+CMEE: {proc.module.cmee}")
    if req.kind == "test":
        return info("+CMEE: (0-2)")
    if req.kind == "set":
        proc.module.cmee = int_field(req.fields, 0, 0, 2)
        return OK
    return ERROR


async def cpin(proc: CommandProcessor, req: Request) -> bytes:
    if req.kind == "query":
        return info("+CPIN: READY")
    if req.kind == "test":
        return OK
    return ERROR


def _registration(name: str):
    async def handler(proc: CommandProcessor, req: Request) -> bytes:
        urc_mode = proc.module.registration_urc
        if req.kind == "query":
            return info(f"{name}: {urc_mode[name]},1")
        if req.kind == "test":
            return info(f"{name}: (0-2)")
        if req.kind == "set":
            urc_mode[name] = int_field(req.fields, 0, 0, 2)
            return OK
        return ERROR

    return handler


async def csq(proc: CommandProcessor, req: Request) -> bytes:
    if req.kind == "exec":
        return info("+CSQ: 20,99")
    if req.kind == "test":
        return info("+CSQ: (0-31,99),(0-7,99)")
    return ERROR


async def cclk(proc: CommandProcessor, req: Request) -> bytes:
    clock = proc.module.clock
    if req.kind == "query":
        return info(f'+CCLK: "{clock.cclk_text()}"')
    if req.kind == "test":
        return OK
    if req.kind == "set":
        try:
            clock.set_from_cclk(str_field(req.fields, 0))
        except ValueError as exc:
            raise ParamError(str(exc)) from exc
        return OK
    return ERROR


async def qlts(proc: CommandProcessor, req: Request) -> bytes:
    if req.kind in ("exec", "set"):
        if req.kind == "set":
            int_field(req.fields, 0, 0, 2)
        return info(f'+QLTS: "{network_time_text()}"')
    if req.kind == "test":
        return info("+QLTS: (0-2)")
    return ERROR


async def cfun(proc: CommandProcessor, req: Request) -> bytes | None:
    if req.kind == "query":
        return info("+CFUN: 1")
    if req.kind == "test":
        return info("+CFUN: (0,1,4),(0-1)")
    if req.kind != "set":
        return ERROR
    fields = req.fields
    fun = int_field(fields, 0, 0, 4)
    reset = int_field(fields, 1, 0, 1, default=0)
    if fun not in (0, 1, 4):
        raise ParamError("fun")
    if reset:
        await proc.line.write(OK)
        await trio.sleep(0.01)
        proc.module.restart()
        await trio.sleep_forever()  # cancelled by the restart
    return OK


async def cops(proc: CommandProcessor, req: Request) -> bytes:
    if req.kind == "query":
        return info('+COPS: 0,0,"EMULATED",7')
    if req.kind in ("set", "test"):
        return OK
    return ERROR


async def ipr(proc: CommandProcessor, req: Request) -> bytes:
    if req.kind == "query":
        return info(f"+IPR: {proc.module.config.baud or 115200}")
    if req.kind in ("set", "test"):
        return OK
    return ERROR


async def qccid(proc: CommandProcessor, req: Request) -> bytes:
    return info("+QCCID: 89860000000000000000") if req.kind == "exec" else OK


HANDLERS = {
    "+CMEE": cmee,
    "+CPIN": cpin,
    "+CREG": _registration("+CREG"),
    "+CGREG": _registration("+CGREG"),
    "+CEREG": _registration("+CEREG"),
    "+CSQ": csq,
    "+CCLK": cclk,
    "+QLTS": qlts,
    "+CFUN": cfun,
    "+COPS": cops,
    "+IPR": ipr,
    "+QCCID": qccid,
    "+CGMI": _constant(MANUFACTURER),
    "+GMI": _constant(MANUFACTURER),
    "+CGMM": _constant(MODEL),
    "+GMM": _constant(MODEL),
    "+CGMR": _constant(REVISION),
    "+GMR": _constant(REVISION),
    "+QGMR": _constant(f"{REVISION}_01.001.01.001"),
    "+CGSN": _constant("866758040000001"),
    "+GSN": _constant("866758040000001"),
    "+CIMI": _constant("460011234567890"),
}
