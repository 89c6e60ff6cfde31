"""3GPP 27.007 basics and identification (``ATI``, ``AT+CMEE``, ``AT+CCLK`` ...),
and ``AT+QURCCFG`` (the URC port; see ``urc_port``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import trio

from .fields import ParamError, int_field, str_field
from .registry import CommandTable
from .request import Form, Request
from .responses import OK, cme_error, info
from .urc_port import URC_PORTS

if TYPE_CHECKING:
    from .models import ModelPreset
    from .module import Module

IMEI = "866758040000001"
IMSI = "460011234567890"

COMMANDS = CommandTable()
READ, WRITE, EXECUTE = Form.READ, Form.WRITE, Form.EXECUTE


def ati(module: Module) -> bytes:
    """``ATI``: manufacturer, model and revision (the model played: ``models``)."""
    preset = module.config.preset
    return info(preset.manufacturer, preset.model, f"Revision: {preset.revision}")


def _constant(*names: str, answer: Callable[[ModelPreset], str]) -> None:
    """Identification commands that print one line."""

    async def handler(module: Module, req: Request) -> bytes:
        return info(answer(module.config.preset))

    COMMANDS.command(*names, forms={EXECUTE})(handler)


_constant("+CGMI", "+GMI", answer=lambda preset: preset.manufacturer)
_constant("+CGMM", "+GMM", answer=lambda preset: preset.model)
_constant("+CGMR", "+GMR", answer=lambda preset: preset.revision)
_constant("+QGMR", answer=lambda preset: f"{preset.revision}_01.001.01.001")
_constant("+CGSN", "+GSN", answer=lambda preset: IMEI)
_constant("+CIMI", answer=lambda preset: IMSI)


@COMMANDS.command("+CMEE", test="+CMEE: (0-2)", forms={READ, WRITE})
async def cmee(module: Module, req: Request) -> bytes:
    if req.form is READ:
        return info(f"+CMEE: {module.cmee}")
    module.cmee = int_field(req.fields, 0, 0, 2)
    return OK


SIM_NOT_INSERTED = 10  # 27.007 9.2.1 (+CME ERROR: <n>)
SIM_BUSY = 14
INCORRECT_PASSWORD = 16
OPERATION_NOT_ALLOWED = 3


@COMMANDS.command("+CPIN", forms={READ, WRITE})
async def cpin(module: Module, req: Request) -> bytes:
    """``+CPIN: READY`` / ``SIM PIN`` / ``SIM PUK`` (``module.sim``); without a SIM
    ``+CME ERROR: 10``, while it is busy after power-up ``+CME ERROR: 14``.
    ``AT+CPIN="<pin>"`` unlocks it or costs a try (``+CME ERROR: 16``).

    Public logs: a module without a SIM answers ``+CME ERROR: 10`` with
    CMEE=1 (community.sixfab.com/t/me910c1-ww-not-detecting-sim-card/2805)
    and ``+CME ERROR: SIM not inserted`` with CMEE=2 (github.com/Xinyuan-LilyGO/
    LilyGo-T-Call-SIM800/issues/33); an EC25 whose SIM fails answers the
    numeric ``+CME ERROR: 13`` (forums.quectel.com/t/ec25-cme-error-13-
    interpretation/4797).  No EC2x log of an absent SIM was found: 10 is
    27.007's code, the tolerant guess.  A right PIN is followed by the URC
    ``+CPIN: READY`` (the boot URCs' form); a PUK is not emulated.
    """
    sim = module.sim
    if sim.absent:
        return cme_error(module.cmee, SIM_NOT_INSERTED)
    if sim.busy:
        return cme_error(module.cmee, SIM_BUSY)
    if req.form is READ:
        return info(f"+CPIN: {sim.state}")
    if sim.state != "SIM PIN" or len(req.fields) != 1:
        return cme_error(module.cmee, OPERATION_NOT_ALLOWED)
    if not sim.enter(str_field(req.fields, 0)):
        return cme_error(module.cmee, INCORRECT_PASSWORD)
    module.post_urc(b"\r\n+CPIN: READY\r\n")
    return OK


@COMMANDS.command("+QPINC", test='+QPINC: ("SC","P2")', forms={READ, WRITE})
async def qpinc(module: Module, req: Request) -> bytes:
    """``AT+QPINC="SC"``: ``+QPINC: "SC",<pin tries>,<puk tries>`` (the read
    form lists ``"P2"`` too, with the counters of a fresh SIM)."""
    sim = module.sim
    if sim.absent:
        return cme_error(module.cmee, SIM_NOT_INSERTED)
    sc = f'+QPINC: "SC",{sim.pin_tries},{sim.puk_tries}'
    if req.form is READ:
        return info(sc, '+QPINC: "P2",3,10')
    facility = str_field(req.fields, 0).upper()
    if facility == "P2":
        return info('+QPINC: "P2",3,10')
    if facility != "SC":
        raise ParamError("facility")
    return info(sc)


def _registration(name: str) -> None:
    """``+CREG`` / ``+CGREG`` / ``+CEREG``: the configured stat (default 1,
    registered; 0 without a SIM or while it is locked), or searching (2) while ``Fault.deregister``
    lasts; URC mode kept."""

    async def handler(module: Module, req: Request) -> bytes:
        urc_mode = module.registration_urc
        if req.form is READ:
            if module.sim.state != "READY" or module.sim.absent:
                stat = 0
            elif trio.current_time() < module.unregistered_until:
                stat = 2
            else:
                stat = module.config.registration
            return info(f"{name}: {urc_mode[name]},{stat}")
        urc_mode[name] = int_field(req.fields, 0, 0, 2)
        return OK

    COMMANDS.command(name, test=f"{name}: (0-2)", forms={READ, WRITE})(handler)


for _name in ("+CREG", "+CGREG", "+CEREG"):
    _registration(_name)


@COMMANDS.command("+CSQ", test="+CSQ: (0-31,99),(0-7,99)", forms={EXECUTE})
async def csq(module: Module, req: Request) -> bytes:
    return info("+CSQ: 20,99")


# The serving cell, in the EC25 AT manual's LTE layout: state, "LTE", FDD/TDD,
# MCC, MNC, cell ID (hex), PCID, EARFCN, band, UL and DL bandwidth, TAC (hex),
# RSRP, RSRQ, RSSI, SINR, srxlev.  Real EC2x answers have this shape, e.g.
# +QENG: "servingcell","NOCONN","LTE","FDD",302,610,844D92A,248,900,2,5,5,D6E7,-89,-8,-61,17,38
# (a Quectel gateway's source comment; more in tests/emulator/test_console_answers.py).
# "CONNECT" while an SSL socket is open is a guess (RRC connected), else "NOCONN".
_SERVING_CELL = '"LTE","FDD",460,01,5A1B2C3,123,1300,3,5,5,1A2B,-95,-10,-73,14,40'


@COMMANDS.command("+QENG", test='+QENG: ("servingcell","neighbourcell")', forms={WRITE})
async def qeng(module: Module, req: Request) -> bytes:
    if str_field(req.fields, 0).lower() != "servingcell" or len(req.fields) > 1:
        raise ParamError("qeng")  # neighbour cells: not emulated
    state = "CONNECT" if module.sockets else "NOCONN"
    return info(f'+QENG: "servingcell","{state}",{_SERVING_CELL}')


@COMMANDS.command("+CCLK", forms={READ, WRITE})
async def cclk(module: Module, req: Request) -> bytes:
    clock = module.clock
    if req.form is READ:
        return info(f'+CCLK: "{clock.cclk_text()}"')
    try:
        clock.set_from_cclk(str_field(req.fields, 0))
    except ValueError as exc:
        raise ParamError(str(exc)) from exc
    return OK


@COMMANDS.command("+QLTS", test="+QLTS: (0-2)", forms={EXECUTE, WRITE})
async def qlts(module: Module, req: Request) -> bytes:
    """``+QLTS: ""`` until the network has sent its time (EC2x AT manual, AT+QLTS)."""
    mode = int_field(req.fields, 0, 0, 2) if req.form is WRITE else 0
    return info(f'+QLTS: "{module.network_time.qlts_text(mode)}"')


@COMMANDS.command("+CTZU", test="+CTZU: (0,1,3)", forms={READ, WRITE})
async def ctzu(module: Module, req: Request) -> bytes:
    """Automatic time zone update (27.007; EC2x: 3 also sets the clock from NITZ)."""
    if req.form is READ:
        return info(f"+CTZU: {module.ctzu}")
    mode = int_field(req.fields, 0, 0, 3)
    if mode == 2:
        raise ParamError("ctzu")
    module.ctzu = mode
    module.follow_network_time()
    return OK


@COMMANDS.command("+CFUN", test="+CFUN: (0,1,4),(0-1)", forms={READ, WRITE})
async def cfun(module: Module, req: Request) -> bytes | None:
    if req.form is READ:
        return info("+CFUN: 1")
    fields = req.fields
    fun = int_field(fields, 0, 0, 4)
    reset = int_field(fields, 1, 0, 1, default=0)
    if fun not in (0, 1, 4):
        raise ParamError("fun")
    if reset:
        await req.port.line.write(OK)
        await trio.sleep(0.01)
        module.restart()
        await trio.sleep_forever()  # cancelled by the restart
    return OK


@COMMANDS.command("+COPS", forms={READ, WRITE})
async def cops(module: Module, req: Request) -> bytes:
    """Operator selection: reads one LTE operator; a write changes nothing."""
    return info('+COPS: 0,0,"EMULATED",7') if req.form is READ else OK


@COMMANDS.command("+IPR", forms={READ, WRITE})
async def ipr(module: Module, req: Request) -> bytes:
    """The line rate reads as configured (115200 when unpaced); a write changes nothing."""
    return info(f"+IPR: {module.config.baud or 115200}") if req.form is READ else OK


@COMMANDS.command("+QCCID", forms={READ, WRITE, EXECUTE})
async def qccid(module: Module, req: Request) -> bytes:
    """The SIM's ICCID; the read and write forms answer a bare OK."""
    return info("+QCCID: 89860000000000000000") if req.form is EXECUTE else OK


_URC_PORT_LIST = ",".join(f'"{port}"' for port in URC_PORTS)


@COMMANDS.command("+QURCCFG", test=f'+QURCCFG: "urcport",({_URC_PORT_LIST})', forms={WRITE})
async def qurccfg(module: Module, req: Request) -> bytes:
    """``AT+QURCCFG="urcport"[,<port>]``: read or set where URCs go (kept in NVM).

    Names are taken in any case (vendor test scripts send ``"URCPORT"``).
    """
    fields = req.fields
    if len(fields) > 2 or str_field(fields, 0).lower() != "urcport":
        raise ParamError("urcport")
    routing = module.routing
    if len(fields) == 1:
        return info(f'+QURCCFG: "urcport","{routing.urc_port}"')
    port = str_field(fields, 1).lower()
    if port not in URC_PORTS:
        raise ParamError("urcportvalue")
    routing.urc_port = port
    return OK
