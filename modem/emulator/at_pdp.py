"""PDP contexts (TCP/IP AT manual): QICSGP, QIACT, QIDEACT, QIGETERROR, QIDNSCFG.

Activation fails (``ERROR``, ``AT+QIGETERROR`` 561) for the APN ``"bad"`` and
for a context that is already active; any other APN, empty included, works.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .fields import Fields, int_field, str_field
from .manual import IP_ERROR_TEXT, OPEN_PDP_FAILED, PDP_CONTEXT_IDS
from .registry import CommandTable
from .request import Form, Request
from .responses import ERROR, OK, info

if TYPE_CHECKING:
    from .module import Module, PdpContext

BAD_APN = "bad"
_IDS = f"({PDP_CONTEXT_IDS[0]}-{PDP_CONTEXT_IDS[-1]})"

COMMANDS = CommandTable()
READ, WRITE, EXECUTE = Form.READ, Form.WRITE, Form.EXECUTE


def _context(module: Module, fields: Fields) -> PdpContext:
    return module.pdp[int_field(fields, 0, PDP_CONTEXT_IDS[0], PDP_CONTEXT_IDS[-1])]


@COMMANDS.command(
    "+QICSGP", test=f"+QICSGP: {_IDS},(1-3),<APN>,<username>,<password>,(0-3)", forms={WRITE}
)
async def qicsgp(module: Module, req: Request) -> bytes:
    fields = req.fields
    ctx = _context(module, fields)
    if len(fields) == 1:
        return info(
            f'+QICSGP: {ctx.context_type},"{ctx.apn}","{ctx.username}","{ctx.password}",'
            f"{ctx.auth}"
        )
    ctx.context_type = int_field(fields, 1, 1, 3)
    ctx.apn = str_field(fields, 2, default="")
    ctx.username = str_field(fields, 3, default="")
    ctx.password = str_field(fields, 4, default="")
    ctx.auth = int_field(fields, 5, 0, 3, default=0)
    return OK


@COMMANDS.command("+QIACT", test=f"+QIACT: {_IDS}", forms={READ, WRITE})
async def qiact(module: Module, req: Request) -> bytes:
    if req.form is READ:
        active = [c for c in module.pdp.values() if c.active]
        return info(*(f'+QIACT: {c.context_id},1,{c.context_type},"{c.address}"' for c in active))
    ctx = _context(module, req.fields)
    if ctx.active or ctx.apn == BAD_APN:
        module.last_error = OPEN_PDP_FAILED
        return ERROR
    ctx.active = True
    return OK


@COMMANDS.command("+QIDEACT", test=f"+QIDEACT: {_IDS}", forms={WRITE})
async def qideact(module: Module, req: Request) -> bytes:
    ctx = _context(module, req.fields)
    for sock in [s for s in module.sockets.values() if s.pdp_id == ctx.context_id]:
        await module.close_socket(sock, 0)
    ctx.active = False
    return OK


@COMMANDS.command("+QIGETERROR", forms={EXECUTE})
async def qigeterror(module: Module, req: Request) -> bytes:
    code = module.last_error
    return info(f"+QIGETERROR: {code},{IP_ERROR_TEXT.get(code, 'Unknown error')}")


@COMMANDS.command("+QIDNSCFG", test=f"+QIDNSCFG: {_IDS},<pridnsaddr>,<secdnsaddr>", forms={WRITE})
async def qidnscfg(module: Module, req: Request) -> bytes:
    fields = req.fields
    ctx = _context(module, fields)
    if len(fields) == 1:
        return info(f'+QIDNSCFG: {ctx.context_id},"{ctx.primary_dns}","{ctx.secondary_dns}"')
    ctx.primary_dns = str_field(fields, 1)
    ctx.secondary_dns = str_field(fields, 2, default=ctx.secondary_dns)
    return OK
