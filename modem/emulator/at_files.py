"""FILE AT commands (Quectel FILE AT Commands Manual): QFUPL, QFLST, QFDEL.

``AT+QFUPL="UFS:name",<size>[,<timeout>[,<ackmode>]]`` answers ``CONNECT``,
takes exactly ``size`` raw bytes within ``timeout`` seconds (default 5), then
``+QFUPL: <size>,<checksum>`` (checksum in lowercase hex) and ``OK``.  An
existing file is ``+CME ERROR: 407`` (upload refused, delete first), a
timeout ``+CME ERROR: 421`` (nothing stored).  ``AT+QFLST`` lists
``+QFLST: "UFS:name",<size>`` (``"RAM:*"`` for RAM); ``AT+QFDEL`` deletes,
``+CME ERROR: 405`` when nothing matched a name without wildcards.
``AT+QFLDS[="UFS"|"RAM"]`` answers ``+QFLDS: <free_size>,<total_size>`` in
bytes (FILE AT Commands Manual; real answers seen: BG96
``+QFLDS: 12883392,14483456``, NectisCellular's BG96 driver comment).  The
sizes here are a guess of the same order for the EC25's UFS, and a small RAM
area; free space shrinks by what is stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import trio

from .fields import int_field, str_field
from .files import qfupl_checksum
from .manual import FILE_EXISTS, FILE_NOT_FOUND, FILE_TIMEOUT, INVALID_FILE_NAME, MAX_FILE
from .registry import CommandTable
from .request import Form, Request
from .responses import CONNECT, OK, cme_error, info

if TYPE_CHECKING:
    from .module import Module

COMMANDS = CommandTable()
WRITE, EXECUTE = Form.WRITE, Form.EXECUTE


@COMMANDS.command(
    "+QFUPL", test=f"+QFUPL: <filename>,(1-{MAX_FILE}),(1-65535),(0,1)", forms={WRITE}
)
async def qfupl(module: Module, req: Request) -> bytes | None:
    fields = req.fields
    name = str_field(fields, 0)
    size = int_field(fields, 1, 1, MAX_FILE)
    timeout = int_field(fields, 2, 1, 65535, default=5)
    int_field(fields, 3, 0, 1, default=0)
    try:
        module.files.split(name)
    except ValueError:
        return cme_error(module.cmee, INVALID_FILE_NAME)
    if module.files.exists(name):
        return cme_error(module.cmee, FILE_EXISTS)
    line = req.port.line
    async with line.urc_gate:
        await line.write(CONNECT)
        data = None
        with trio.move_on_after(timeout):
            data = await line.read_exact(size)
        if data is None:
            line.discard_input()
            await line.write(cme_error(module.cmee, FILE_TIMEOUT))
            return None
        module.files.put(name, data)
        await line.write(info(f"+QFUPL: {size},{qfupl_checksum(data):x}"))
    return None


@COMMANDS.command("+QFLST", forms={EXECUTE, WRITE})
async def qflst(module: Module, req: Request) -> bytes:
    pattern = "*" if req.form is EXECUTE else str_field(req.fields, 0)
    try:
        listing = module.files.listing(pattern)
    except ValueError:
        return cme_error(module.cmee, INVALID_FILE_NAME)
    return info(*(f'+QFLST: "{name}",{size}' for name, size in listing))


AREA_SIZES = {"UFS": 14_483_456, "RAM": 2_097_152}


@COMMANDS.command("+QFLDS", test='+QFLDS: ("UFS","RAM")', forms={EXECUTE, WRITE})
async def qflds(module: Module, req: Request) -> bytes:
    area = "UFS" if req.form is EXECUTE else str_field(req.fields, 0).upper()
    if area not in AREA_SIZES:
        return cme_error(module.cmee, INVALID_FILE_NAME)
    used = sum(len(data) for data in module.files.areas[area].values())
    total = AREA_SIZES[area]
    return info(f"+QFLDS: {max(total - used, 0)},{total}")


@COMMANDS.command("+QFDEL", forms={WRITE})
async def qfdel(module: Module, req: Request) -> bytes:
    pattern = str_field(req.fields, 0)
    try:
        deleted = module.files.delete(pattern)
    except ValueError:
        return cme_error(module.cmee, INVALID_FILE_NAME)
    if not deleted and "*" not in pattern:
        return cme_error(module.cmee, FILE_NOT_FOUND)
    return OK
