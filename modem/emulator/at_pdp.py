"""PDP contexts (TCP/IP AT manual): QICSGP, QIACT, QIDEACT, QIGETERROR, QIDNSCFG.

Activation fails (``ERROR``, ``AT+QIGETERROR`` 561) for the APN ``"bad"`` and
for a context that is already active; any other APN, empty included, works.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .fields import int_field, str_field
from .responses import ERROR, IP_ERROR_TEXT, OK, info

if TYPE_CHECKING:
    from .at_commands import CommandProcessor, Request

OPEN_PDP_FAILED = 561
BAD_APN = "bad"


async def qicsgp(proc: CommandProcessor, req: Request) -> bytes:
    if req.kind == "test":
        return info("+QICSGP: (1-16),(1-3),<APN>,<username>,<password>,(0-3)")
    if req.kind != "set":
        return ERROR
    fields = req.fields
    ctx = proc.module.pdp[int_field(fields, 0, 1, 16)]
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


async def qiact(proc: CommandProcessor, req: Request) -> bytes:
    module = proc.module
    if req.kind == "query":
        active = [c for c in module.pdp.values() if c.active]
        return info(*(f'+QIACT: {c.context_id},1,{c.context_type},"{c.address}"' for c in active))
    if req.kind == "test":
        return info("+QIACT: (1-16)")
    if req.kind != "set":
        return ERROR
    ctx = module.pdp[int_field(req.fields, 0, 1, 16)]
    if ctx.active or ctx.apn == BAD_APN:
        module.last_error = OPEN_PDP_FAILED
        return ERROR
    ctx.active = True
    return OK


async def qideact(proc: CommandProcessor, req: Request) -> bytes:
    module = proc.module
    if req.kind == "test":
        return info("+QIDEACT: (1-16)")
    if req.kind != "set":
        return ERROR
    ctx = module.pdp[int_field(req.fields, 0, 1, 16)]
    for sock in [s for s in module.sockets.values() if s.pdp_id == ctx.context_id]:
        await module.close_socket(sock, 0)
    ctx.active = False
    return OK


async def qigeterror(proc: CommandProcessor, req: Request) -> bytes:
    if req.kind == "test":
        return OK
    if req.kind != "exec":
        return ERROR
    code = proc.module.last_error
    return info(f"+QIGETERROR: {code},{IP_ERROR_TEXT.get(code, 'Unknown error')}")


async def qidnscfg(proc: CommandProcessor, req: Request) -> bytes:
    if req.kind == "test":
        return info("+QIDNSCFG: (1-16),<pridnsaddr>,<secdnsaddr>")
    if req.kind != "set":
        return ERROR
    fields = req.fields
    ctx = proc.module.pdp[int_field(fields, 0, 1, 16)]
    if len(fields) == 1:
        return info(f'+QIDNSCFG: {ctx.context_id},"{ctx.primary_dns}","{ctx.secondary_dns}"')
    ctx.primary_dns = str_field(fields, 1)
    ctx.secondary_dns = str_field(fields, 2, default=ctx.secondary_dns)
    return OK


HANDLERS = {
    "+QICSGP": qicsgp,
    "+QIACT": qiact,
    "+QIDEACT": qideact,
    "+QIGETERROR": qigeterror,
    "+QIDNSCFG": qidnscfg,
}
