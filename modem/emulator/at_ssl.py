"""SSL AT commands (manual chapter 2): QSSLCFG, QSSLOPEN, QSSLSEND, QSSLRECV,
QSSLCLOSE, QSSLSTATE, plus QISWTMD and ATO (manual 1.3).

Choices where the manual is silent (see docs/emulator.md):
``QSSLOPEN`` on an inactive PDP context answers ``ERROR`` (QIGETERROR 561);
an id in use ``ERROR`` (563).  A failed open frees its id.  ``QSSLCLOSE`` on
an unused id answers ``OK``.  ``QSSLRECV`` on a socket that is not in buffer
mode answers ``ERROR``.  The ctrl-z form of ``QSSLSEND`` takes at most 1460
bytes (more are dropped); ESC cancels it with ``OK``.  Payload bytes are
never echoed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .fields import ParamError, int_field, str_field
from .responses import (
    ERROR,
    NO_CARRIER,
    OK,
    PROMPT,
    SEND_FAIL,
    SEND_OK,
    info,
)
from .ssl_sockets import SocketState, SslSocket
from .tls import ALL_SUITES, CIPHER_SUITES, SslContextConfig
from .transparent import run_transparent

if TYPE_CHECKING:
    from .at_commands import CommandProcessor, Request

OPEN_PDP_FAILED = 561
SOCKET_ID_USED = 563
OPERATION_NOT_ALLOWED = 572
CTRL_Z = 0x1A
ESC = 0x1B
MAX_SEND = 1460
MAX_RECV = 1500

_CIPHER_LIST = ",".join(f"0X{c:04X}" for c in [*CIPHER_SUITES, ALL_SUITES])
QSSLCFG_TEST = (
    '+QSSLCFG: "sslversion",(0-5),(0-4)',
    f'+QSSLCFG: "ciphersuite",(0-5),({_CIPHER_LIST})',
    '+QSSLCFG: "cacert",(0-5),<cacertpath>',
    '+QSSLCFG: "clientcert",(0-5),<client_cert_path>',
    '+QSSLCFG: "clientkey",(0-5),<client_key_path>',
    '+QSSLCFG: "seclevel",(0-5),(0-2)',
    '+QSSLCFG: "ignorelocaltime",(0-5),(0,1)',
    '+QSSLCFG: "negotiatetime",(0-5),(10-300)',
    '+QSSLCFG: "sni",(0-5),(0,1)',
)
_NUMERIC = {
    "sslversion": (0, 4),
    "seclevel": (0, 2),
    "ignorelocaltime": (0, 1),
    "negotiatetime": (10, 300),
    "sni": (0, 1),
}
_PATHS = ("cacert", "clientcert", "clientkey")


def _format_setting(cfg: SslContextConfig, name: str) -> str:
    value = getattr(cfg, name)
    if name == "ciphersuite":
        return f"0X{value:04X}"
    if name in _PATHS:
        return f'"{value}"'
    return str(value)


async def qsslcfg(proc: CommandProcessor, req: Request) -> bytes:
    """Parameter errors answer a bare ERROR whatever AT+CMEE says (real firmware)."""
    if req.kind == "test":
        return info(*QSSLCFG_TEST)
    if req.kind != "set":
        return ERROR
    fields = req.fields
    name = str_field(fields, 0)
    cfg = proc.module.ssl_contexts[int_field(fields, 1, 0, 5)]
    if name not in _NUMERIC and name not in _PATHS and name != "ciphersuite":
        raise ParamError(name)
    if len(fields) == 2:
        return info(f'+QSSLCFG: "{name}",{fields[1]},{_format_setting(cfg, name)}')
    if len(fields) != 3:
        raise ParamError("too many fields")
    if name == "ciphersuite":
        suite = fields[2]
        if not isinstance(suite, int) or (suite not in CIPHER_SUITES and suite != ALL_SUITES):
            raise ParamError("cipher suite")
        cfg.ciphersuite = suite
    elif name in _PATHS:
        setattr(cfg, name, str_field(fields, 2))
    else:
        setattr(cfg, name, int_field(fields, 2, *_NUMERIC[name]))
    return OK


async def qsslopen(proc: CommandProcessor, req: Request) -> bytes | None:
    module = proc.module
    if req.kind == "test":
        return info("+QSSLOPEN: (1-16),(0-5),(0-11),<serveraddr>,<server_port>[,(0-2)]")
    if req.kind != "set":
        return ERROR
    fields = req.fields
    pdp_id = int_field(fields, 0, 1, 16)
    ctx_id = int_field(fields, 1, 0, 5)
    client_id = int_field(fields, 2, 0, 11)
    host = str_field(fields, 3)
    port = int_field(fields, 4, 1, 65535)
    mode = int_field(fields, 5, 0, 2, default=0)
    if len(fields) > 6 or not host:
        raise ParamError("fields")
    if client_id in module.sockets:
        module.last_error = SOCKET_ID_USED
        return ERROR
    if not module.pdp[pdp_id].active:
        module.last_error = OPEN_PDP_FAILED
        return ERROR
    sock = SslSocket(module, client_id, pdp_id, ctx_id, host, port, mode)
    module.add_socket(sock)
    if mode != 2:
        await proc.line.write(OK)  # before the runner can post +QSSLOPEN
        module.start_socket(sock)
        return None
    module.start_socket(sock)
    await sock.opened.wait()
    if sock.open_error:
        return ERROR
    await run_transparent(proc, sock)
    return None


def _connected_socket(proc: CommandProcessor, client_id: int) -> SslSocket | None:
    sock = proc.module.sockets.get(client_id)
    if sock is None or not sock.connected:
        proc.module.last_error = OPERATION_NOT_ALLOWED
        return None
    return sock


async def qsslsend(proc: CommandProcessor, req: Request) -> bytes | None:
    module, line = proc.module, proc.line
    if req.kind == "test":
        return info("+QSSLSEND: (0-11)[,(1-1460)]")
    if req.kind != "set":
        return ERROR
    fields = req.fields
    client_id = int_field(fields, 0, 0, 11)
    length = int_field(fields, 1, 1, MAX_SEND) if len(fields) > 1 else None
    if len(fields) > 2:
        raise ParamError("fields")
    sock = _connected_socket(proc, client_id)
    if sock is None or sock.mode == 2:
        return ERROR
    async with line.urc_gate:
        await line.write(PROMPT)
        if length is None:
            data, stop = await line.read_until(bytes((CTRL_Z, ESC)), MAX_SEND)
            if stop == ESC:
                await line.write(OK)
                return None
        else:
            data = await line.read_exact(length)
        if not sock.connected:
            reply = ERROR
        elif module.faults.take_send_fail() or not data or not sock.offer_tx(data):
            reply = SEND_FAIL
        else:
            reply = SEND_OK
        await line.write(reply)
    return None


async def qsslrecv(proc: CommandProcessor, req: Request) -> bytes | None:
    if req.kind == "test":
        return info("+QSSLRECV: (0-11),(1-1500)")
    if req.kind != "set":
        return ERROR
    fields = req.fields
    client_id = int_field(fields, 0, 0, 11)
    length = int_field(fields, 1, 1, MAX_RECV)
    sock = proc.module.sockets.get(client_id)
    if sock is None or sock.mode != 0 or sock.state == SocketState.OPENING:
        proc.module.last_error = OPERATION_NOT_ALLOWED
        return ERROR
    line = proc.line
    async with line.output_lock:  # a recv URC for new data comes after this answer
        data = sock.take_rx(length)
        reply = b"\r\n+QSSLRECV: %d\r\n" % len(data) + data + (b"\r\n" if data else b"") + OK
        await line.write_locked(reply)
    proc.module.last_error = 0
    return None


async def qsslclose(proc: CommandProcessor, req: Request) -> bytes:
    if req.kind == "test":
        return info("+QSSLCLOSE: (0-11)[,(0-65535)]")
    if req.kind != "set":
        return ERROR
    fields = req.fields
    client_id = int_field(fields, 0, 0, 11)
    timeout = int_field(fields, 1, 0, 65535, default=10)
    sock = proc.module.sockets.get(client_id)
    if sock is not None:
        await proc.module.close_socket(sock, timeout)
    return OK


def _state_line(sock: SslSocket) -> str:
    return (
        f'+QSSLSTATE: {sock.client_id},"SSLClient","{sock.host}",{sock.port},{sock.local_port},'
        f'{int(sock.state)},{sock.pdp_id},{sock.client_id},{sock.mode},"usbmodem",{sock.ctx_id}'
    )


async def qsslstate(proc: CommandProcessor, req: Request) -> bytes:
    sockets = proc.module.sockets
    if req.kind == "test":
        return OK
    if req.kind == "exec":
        return info(*(_state_line(sockets[cid]) for cid in sorted(sockets)))
    if req.kind == "set":
        sock = sockets.get(int_field(req.fields, 0, 0, 11))
        return info(_state_line(sock)) if sock else OK
    return ERROR


async def qiswtmd(proc: CommandProcessor, req: Request) -> bytes | None:
    if req.kind == "test":
        return info("+QISWTMD: (0-11),(0-2)")
    if req.kind != "set":
        return ERROR
    fields = req.fields
    client_id = int_field(fields, 0, 0, 11)
    mode = int_field(fields, 1, 0, 2)
    sock = _connected_socket(proc, client_id)
    if sock is None:
        return ERROR
    if mode == 2:
        await run_transparent(proc, sock)
        return None
    sock.set_mode(mode)
    return OK


async def ato(proc: CommandProcessor, req: Request) -> bytes | None:
    """Back to transparent mode on the socket that left it last, else NO CARRIER."""
    last = proc.module.last_transparent
    sock = proc.module.sockets.get(last) if last is not None else None
    if sock is None or not sock.connected:
        return NO_CARRIER
    await run_transparent(proc, sock)
    return None


HANDLERS = {
    "+QSSLCFG": qsslcfg,
    "+QSSLOPEN": qsslopen,
    "+QSSLSEND": qsslsend,
    "+QSSLRECV": qsslrecv,
    "+QSSLCLOSE": qsslclose,
    "+QSSLSTATE": qsslstate,
    "+QISWTMD": qiswtmd,
}
