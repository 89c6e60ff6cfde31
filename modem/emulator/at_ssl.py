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

from .at_port import AtPort
from .fields import Fields, ParamError, int_field, str_field
from .manual import (
    ACCESS_MODES,
    ALL_SUITES,
    CIPHER_SUITES,
    CLIENT_IDS,
    INVALID_PARAMETER,
    MAX_RECV,
    MAX_SEND,
    OPEN_PDP_FAILED,
    OPERATION_NOT_ALLOWED,
    PDP_CONTEXT_IDS,
    SOCKET_ID_USED,
    SSL_CONTEXT_IDS,
)
from .registry import CommandTable
from .request import Form, Request
from .responses import ERROR, NO_CARRIER, OK, PROMPT, SEND_FAIL, SEND_OK, info
from .ssl_sockets import AccessMode, SocketState, SslSocket
from .tls import SslContextConfig
from .transparent import refused, run_transparent

if TYPE_CHECKING:
    from .module import Module

CTRL_Z = 0x1A
ESC = 0x1B

COMMANDS = CommandTable()
WRITE, EXECUTE = Form.WRITE, Form.EXECUTE


def _span(ids: range) -> str:
    """``(0-11)``: how a test answer writes a range of ids."""
    return f"({ids[0]}-{ids[-1]})"


_CID, _CTX, _PDP = _span(CLIENT_IDS), _span(SSL_CONTEXT_IDS), _span(PDP_CONTEXT_IDS)

_CIPHER_LIST = ",".join(f"0X{c:04X}" for c in [*CIPHER_SUITES, ALL_SUITES])
QSSLCFG_TEST = (
    f'+QSSLCFG: "sslversion",{_CTX},(0-4)',
    f'+QSSLCFG: "ciphersuite",{_CTX},({_CIPHER_LIST})',
    f'+QSSLCFG: "cacert",{_CTX},<cacertpath>',
    f'+QSSLCFG: "clientcert",{_CTX},<client_cert_path>',
    f'+QSSLCFG: "clientkey",{_CTX},<client_key_path>',
    f'+QSSLCFG: "seclevel",{_CTX},(0-2)',
    f'+QSSLCFG: "ignorelocaltime",{_CTX},(0,1)',
    f'+QSSLCFG: "negotiatetime",{_CTX},(10-300)',
    f'+QSSLCFG: "sni",{_CTX},(0,1)',
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


def _id_field(fields: Fields, index: int, ids: range) -> int:
    return int_field(fields, index, ids[0], ids[-1])


@COMMANDS.command("+QSSLCFG", test=QSSLCFG_TEST, forms={WRITE, Form.TEST})
async def qsslcfg(module: Module, req: Request) -> bytes:
    """Parameter errors answer a bare ERROR whatever AT+CMEE says (real firmware).

    With ``EmulatorConfig.hostname_check`` the test form lists that setting
    too, as BG9x firmware lists ``"checkhost"`` (``tls.server_hostname``).
    """
    check = module.config.hostname_check
    if req.form is Form.TEST:
        extra = () if check is None else (f'+QSSLCFG: "{check}",{_CTX},(0,1)',)
        return info(*(module.config.preset.qsslcfg_test or QSSLCFG_TEST), *extra)
    fields = req.fields
    name = str_field(fields, 0)
    cfg = module.ssl_contexts[_id_field(fields, 1, SSL_CONTEXT_IDS)]
    if check is not None and name == check:
        if len(fields) == 2:
            return info(f'+QSSLCFG: "{name}",{fields[1]},{cfg.hostname_check}')
        if len(fields) != 3:
            raise ParamError("too many fields")
        cfg.hostname_check = int_field(fields, 2, 0, 1)
        return OK
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


@COMMANDS.command(
    "+QSSLOPEN",
    test=f"+QSSLOPEN: {_PDP},{_CTX},{_CID},<serveraddr>,<server_port>[,{_span(ACCESS_MODES)}]",
    forms={WRITE},
)
async def qsslopen(module: Module, req: Request) -> bytes | None:
    fields = req.fields
    pdp_id = _id_field(fields, 0, PDP_CONTEXT_IDS)
    ctx_id = _id_field(fields, 1, SSL_CONTEXT_IDS)
    client_id = _id_field(fields, 2, CLIENT_IDS)
    host = str_field(fields, 3)
    port = int_field(fields, 4, 1, 65535)
    mode = AccessMode(int_field(fields, 5, ACCESS_MODES[0], ACCESS_MODES[-1], default=0))
    if len(fields) > 6 or not host:
        raise ParamError("fields")
    if client_id in module.sockets:
        module.last_error = SOCKET_ID_USED
        return ERROR
    if mode is AccessMode.TRANSPARENT and refused(module, req.port):
        return ERROR
    if not module.pdp[pdp_id].active:
        module.last_error = OPEN_PDP_FAILED
        return ERROR
    if mode is AccessMode.PUSH and module.config.open_push != "honour":
        if module.config.open_push == "refuse":
            module.last_error = INVALID_PARAMETER
            return ERROR
        mode = AccessMode.BUFFER  # "buffer": OK, and the socket stays in buffer mode
    sock = SslSocket(module, client_id, pdp_id, ctx_id, host, port, mode)
    module.add_socket(sock)
    if mode is not AccessMode.TRANSPARENT:
        await req.port.line.write(OK)  # before the runner can post +QSSLOPEN
        await module.write_late_pushes(client_id)
        module.start_socket(sock)
        return None
    module.start_socket(sock)
    await sock.opened.wait()
    if sock.open_error:
        return ERROR
    await run_transparent(module, req.port, sock)
    return None


def _connected_socket(module: Module, client_id: int) -> SslSocket | None:
    sock = module.sockets.get(client_id)
    if sock is None or not sock.connected:
        module.last_error = OPERATION_NOT_ALLOWED
        return None
    return sock


@COMMANDS.command("+QSSLSEND", test=f"+QSSLSEND: {_CID}[,(1-{MAX_SEND})]", forms={WRITE})
async def qsslsend(module: Module, req: Request) -> bytes | None:
    line = req.port.line
    fields = req.fields
    client_id = _id_field(fields, 0, CLIENT_IDS)
    length = int_field(fields, 1, 1, MAX_SEND) if len(fields) > 1 else None
    if len(fields) > 2:
        raise ParamError("fields")
    sock = _connected_socket(module, client_id)
    if sock is None or sock.mode is AccessMode.TRANSPARENT:
        return ERROR
    async with line.urc_gate:
        if not module.pending_faults.take_lost_prompt():
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
        elif module.pending_faults.take_send_fail() or not data or not sock.offer_tx(data):
            reply = SEND_FAIL
        else:
            reply = SEND_OK
        await line.write(reply)
    return None


@COMMANDS.command("+QSSLRECV", test=f"+QSSLRECV: {_CID},(1-{MAX_RECV})", forms={WRITE})
async def qsslrecv(module: Module, req: Request) -> bytes | None:
    fields = req.fields
    client_id = _id_field(fields, 0, CLIENT_IDS)
    length = int_field(fields, 1, 1, MAX_RECV)
    sock = module.sockets.get(client_id)
    config = module.config
    readable = sock is not None and (sock.mode is AccessMode.BUFFER or (
        sock.kept and not config.kept_read_error))
    if sock is None or not readable or sock.state == SocketState.OPENING \
            or (sock.peer_closed and (config.closed_read_error or (
                config.empty_read_error and not sock.rx and not sock.kept))):
        module.last_error = OPERATION_NOT_ALLOWED
        return ERROR
    line = req.port.line
    async with line.output_lock:  # a recv URC for new data comes after this answer
        data = sock.take_rx(min(length, config.recv_max or length))
        reply = b"\r\n+QSSLRECV: %d\r\n" % len(data) + data + (b"\r\n" if data else b"") + OK
        if data and module.pending_faults.take_recv_head_loss():
            reply = reply[reply.index(b"\r\n", 2) + 2 + len(data) // 2:]
        await line.write_locked(reply)
    module.last_error = 0
    return None


@COMMANDS.command("+QSSLCLOSE", test=f"+QSSLCLOSE: {_CID}[,(0-65535)]", forms={WRITE})
async def qsslclose(module: Module, req: Request) -> bytes:
    fields = req.fields
    client_id = _id_field(fields, 0, CLIENT_IDS)
    timeout = int_field(fields, 1, 0, 65535, default=10)
    sock = module.sockets.get(client_id)
    if sock is not None:
        await module.close_socket(sock, timeout)
    return OK


def _state_line(sock: SslSocket, at_port: str) -> str:
    """One ``+QSSLSTATE`` line (manual 2.1.6 and its example in 3.3.1:
    ``+QSSLSTATE: 4,"SSLClient","220.180.239.212",8010,65344,2,1,4,0,"usbmodem",1``).

    ``<IP_address>`` is the resolved address; before the name is resolved
    the host as given is shown (a guess: no log shows that moment).
    ``<AT_port>`` is the port asking (the manual: the port the socket was
    opened on; the emulator does not keep that apart: a guess).
    """
    address = sock.remote_ip or sock.host
    return (
        f'+QSSLSTATE: {sock.client_id},"SSLClient","{address}",{sock.port},{sock.local_port},'
        f'{int(sock.state)},{sock.pdp_id},{sock.client_id},{int(sock.mode)},"{at_port}",'
        f'{sock.ctx_id}'
    )


@COMMANDS.command("+QSSLSTATE", forms={EXECUTE, WRITE})
async def qsslstate(module: Module, req: Request) -> bytes:
    sockets = module.sockets
    at_port = req.port.name
    if req.form is EXECUTE:
        return info(*(_state_line(sockets[cid], at_port) for cid in sorted(sockets)))
    sock = sockets.get(_id_field(req.fields, 0, CLIENT_IDS))
    return info(_state_line(sock, at_port)) if sock else OK


@COMMANDS.command("+QISWTMD", test=f"+QISWTMD: {_CID},{_span(ACCESS_MODES)}", forms={WRITE})
async def qiswtmd(module: Module, req: Request) -> bytes | None:
    fields = req.fields
    client_id = _id_field(fields, 0, CLIENT_IDS)
    mode = AccessMode(int_field(fields, 1, ACCESS_MODES[0], ACCESS_MODES[-1]))
    sock = module.sockets.get(client_id)
    # switch_when_closed: a socket the peer closed still goes to buffer mode.
    if not (mode is AccessMode.BUFFER and sock is not None and sock.peer_closed
            and module.config.switch_when_closed):
        sock = _connected_socket(module, client_id)
        if sock is None:
            return ERROR
        if mode is AccessMode.TRANSPARENT:
            if refused(module, req.port):
                return ERROR
            await run_transparent(module, req.port, sock)
            return None
    sock.set_mode(mode)
    if not module.config.pushes_after_switch:
        await sock.pushes_written()  # pushes decided before the switch come before its OK
    return OK


async def ato(module: Module, port: AtPort) -> bytes | None:
    """``ATO``: back to transparent mode on the socket that left it last on this
    port, else NO CARRIER."""
    last = port.last_transparent
    sock = module.sockets.get(last) if last is not None else None
    if sock is None or not sock.connected:
        return NO_CARRIER
    if refused(module, port):
        return ERROR
    await run_transparent(module, port, sock)
    return None
