"""SSL commands of the Quectel EC2x&EG9x&EM05 SSL AT Commands Manual (sans-I/O).

Contexts (``AT+QSSLCFG``, manual 2.1.1), sockets (``AT+QSSLOPEN``,
``AT+QSSLSEND``, ``AT+QSSLRECV``, ``AT+QSSLCLOSE``, ``AT+QSSLSTATE``, manual
2.1.2-2.1.6) and the access-mode switches ``AT+QISWTMD`` and ``ATO`` of the
TCP(IP) AT Commands Manual.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from modem.core.at_command import Command, Framing
from modem.core.commands._fields import (
    DEFAULT_TIMEOUT,
    HEX,
    check_flag,
    check_int,
    check_text,
    hex4,
    info_fields,
    int_field,
    unreadable,
)
from modem.core.commands._files import check_file_name
from modem.core.commands._general import test_form
from modem.core.commands._pdp import check_pdp_context
from modem.core.limits import (
    ALL_CIPHER_SUITES,
    CIPHER_SUITES,
    CLIENT_IDS,
    MAX_RECV,
    MAX_SEND,
    SSL_CONTEXTS,
)

# -- SSL context configuration (manual 2.1.1) -----------------------------------


class SslSetting(enum.StrEnum):
    """The nine settings of ``AT+QSSLCFG`` in manual 2.1.1."""

    SSLVERSION = "sslversion"
    CIPHERSUITE = "ciphersuite"
    CACERT = "cacert"
    CLIENTCERT = "clientcert"
    CLIENTKEY = "clientkey"
    SECLEVEL = "seclevel"
    IGNORELOCALTIME = "ignorelocaltime"
    NEGOTIATETIME = "negotiatetime"
    SNI = "sni"


CIPHER_LIST_SEPARATOR = ":"
"""Between codes when several suites go into one ``AT+QSSLCFG="ciphersuite"``.

Unconfirmed: the EC2x manual documents one code per command (or 0xFFFF
for all), and no Quectel document or log we could find shows a list; ``:``
is a guess.  A single suite never uses it.
"""


def _ssl_ctx(ctx: int) -> int:
    return check_int("SSL context id", ctx, 0, SSL_CONTEXTS - 1)


def _qsslcfg(setting: SslSetting, ctx: int, value: str) -> Command:
    return Command(f'AT+QSSLCFG="{setting.value}",{_ssl_ctx(ctx)},{value}', timeout=DEFAULT_TIMEOUT)


def qsslcfg_sslversion(ctx: int, version: int) -> Command:
    """0 SSL3.0, 1 TLS1.0, 2 TLS1.1, 3 TLS1.2, 4 all."""
    v = check_int("SSL version", version, 0, 4)
    return _qsslcfg(SslSetting.SSLVERSION, ctx, str(v))


def qsslcfg_ciphersuite(ctx: int, suites: int | Sequence[int]) -> Command:
    """Codes of manual Table 2 (``CIPHER_SUITES``), written ``0xC02F``; 0xFFFF is all.

    Several codes are joined with ``CIPHER_LIST_SEPARATOR`` (unconfirmed on
    real firmware, see there); 0xFFFF cannot be combined with others.
    """
    codes = [suites] if isinstance(suites, int) else list(suites)
    if not codes:
        raise ValueError("cipher suites must not be empty")
    for code in codes:
        if isinstance(code, bool) or not isinstance(code, int) or code not in CIPHER_SUITES:
            shown = f"0x{code:04X}" if isinstance(code, int) else repr(code)
            raise ValueError(
                f"cipher suite {shown} is not in the manual's Table 2 (see CIPHER_SUITES)"
            )
    if len(set(codes)) != len(codes):
        raise ValueError(f"cipher suites repeat a code: {[hex4(c) for c in codes]}")
    if ALL_CIPHER_SUITES in codes and len(codes) > 1:
        raise ValueError("cipher suite 0xFFFF (all) cannot be combined with other codes")
    return _qsslcfg(
        SslSetting.CIPHERSUITE, ctx, CIPHER_LIST_SEPARATOR.join(hex4(c) for c in codes)
    )


def _path(setting: SslSetting, ctx: int, path: str) -> Command:
    check_file_name(f"{setting.value} path", path)
    return _qsslcfg(setting, ctx, f'"{path}"')


def qsslcfg_cacert(ctx: int, path: str) -> Command:
    """Path of the trusted CA certificate, e.g. ``"UFS:cacert.pem"``."""
    return _path(SslSetting.CACERT, ctx, path)


def qsslcfg_clientcert(ctx: int, path: str) -> Command:
    """Path of the client certificate."""
    return _path(SslSetting.CLIENTCERT, ctx, path)


def qsslcfg_clientkey(ctx: int, path: str) -> Command:
    """Path of the client private key."""
    return _path(SslSetting.CLIENTKEY, ctx, path)


def qsslcfg_seclevel(ctx: int, level: int) -> Command:
    """0 no authentication, 1 server, 2 server and client (if the server asks)."""
    return _qsslcfg(SslSetting.SECLEVEL, ctx, str(check_int("security level", level, 0, 2)))


def qsslcfg_ignorelocaltime(ctx: int, ignore: bool) -> Command:
    """True: skip the certificate validity check against the module clock (manual 1.4)."""
    return _qsslcfg(SslSetting.IGNORELOCALTIME, ctx, str(check_flag("ignorelocaltime", ignore)))


def qsslcfg_negotiatetime(ctx: int, seconds: int) -> Command:
    """Maximum handshake time, 10-300 s (default 300)."""
    return _qsslcfg(
        SslSetting.NEGOTIATETIME, ctx, str(check_int("negotiate time", seconds, 10, 300))
    )


def qsslcfg_sni(ctx: int, on: bool) -> Command:
    """Server Name Indication (manual 1.5); firmware default is off."""
    return _qsslcfg(SslSetting.SNI, ctx, str(check_flag("sni", on)))


def _setting(setting: SslSetting | str) -> SslSetting:
    try:
        return SslSetting(setting)
    except ValueError:
        names = ", ".join(s.value for s in SslSetting)
        raise ValueError(f"SSL setting must be one of {names}, got {setting!r}") from None


# The helpers check the value's type at run time, so any value may be handed on.
_SETTERS: dict[SslSetting, Callable[[int, Any], Command]] = {
    SslSetting.SSLVERSION: qsslcfg_sslversion,
    SslSetting.CIPHERSUITE: qsslcfg_ciphersuite,
    SslSetting.CACERT: qsslcfg_cacert,
    SslSetting.CLIENTCERT: qsslcfg_clientcert,
    SslSetting.CLIENTKEY: qsslcfg_clientkey,
    SslSetting.SECLEVEL: qsslcfg_seclevel,
    SslSetting.IGNORELOCALTIME: qsslcfg_ignorelocaltime,
    SslSetting.NEGOTIATETIME: qsslcfg_negotiatetime,
    SslSetting.SNI: qsslcfg_sni,
}


def qsslcfg_set(
    setting: SslSetting | str, ctx: int, value: int | bool | str | Sequence[int]
) -> Command:
    """``AT+QSSLCFG="<setting>",<ctx>,<value>``, checked by the setting's typed helper."""
    return _SETTERS[_setting(setting)](ctx, value)


def qsslcfg_query(setting: SslSetting | str, ctx: int) -> Command:
    """``AT+QSSLCFG="<setting>",<ctx>``: read one setting (see ``parse_qsslcfg``)."""
    s = _setting(setting)
    return Command(
        f'AT+QSSLCFG="{s.value}",{_ssl_ctx(ctx)}',
        info_prefixes=("+QSSLCFG",),
        timeout=DEFAULT_TIMEOUT,
    )


def qsslcfg_test() -> Command:
    """``AT+QSSLCFG=?``: the settings and ranges this firmware knows."""
    return test_form("QSSLCFG")


@dataclass(frozen=True, slots=True)
class SslConfigValue:
    """``+QSSLCFG: "<setting>",<ctx>,<value>``.

    ``setting`` is an ``SslSetting`` when it is one of the nine (newer
    firmware has more, kept as ``str``).  ``value`` is an int for numbers,
    a str for paths, for ciphersuite an int (one code) or a tuple of codes,
    and None when the line has no value.
    """

    setting: SslSetting | str
    ctx: int
    value: int | str | tuple[int, ...] | None


def _cipher_list(value: str) -> tuple[int, ...] | None:
    parts = re.split(r"[:;]", value)
    if len(parts) < 2 or not all(HEX.fullmatch(p.strip()) for p in parts):
        return None
    return tuple(int(p.strip(), 16) for p in parts)


def parse_qsslcfg(text: str) -> SslConfigValue:
    """``+QSSLCFG: "sslversion",1,1`` or ``+QSSLCFG: "cacert",1,"UFS:cacert.pem"``.

    Fields after the value (``clientkey``'s key password on newer firmware)
    are ignored.  A test-form line (ranges such as ``(0-5)``) is refused.
    """
    fields = info_fields(text, "+QSSLCFG")
    if not fields or not isinstance(fields[0], str) or not fields[0]:
        raise unreadable(text, "want a quoted setting name")
    try:
        setting: SslSetting | str = SslSetting(fields[0].lower())
    except ValueError:
        setting = fields[0]
    ctx = int_field(text, fields, 1, "SSL context id")
    value: int | str | tuple[int, ...] | None = fields[2] if len(fields) > 2 else None
    if setting == SslSetting.CIPHERSUITE and isinstance(value, str):
        value = _cipher_list(value) or value
    return SslConfigValue(setting, ctx, value)


# -- SSL sockets (manual 2.1.2-2.1.6) -----------------------------------------------


def _client(client_id: int) -> int:
    return check_int("client id", client_id, 0, CLIENT_IDS - 1)


def _access_mode_framing(mode: int) -> Framing:
    """Access mode 2 (transparent) answers ``CONNECT`` and turns the line
    transparent; modes 0 (buffer) and 1 (direct push) answer ``OK``."""
    return Framing.DATA_MODE if mode == 2 else Framing.LINES


def qsslopen(
    pdp_ctx: int,
    ssl_ctx: int,
    client_id: int,
    host: str,
    port: int,
    mode: int = 0,
    negotiate_time: int = 300,
) -> Command:
    """``AT+QSSLOPEN=<pdp>,<ssl>,<id>,"<host>",<port>,<mode>`` (manual 2.1.2).

    Modes: 0 buffer, 1 direct push, 2 transparent.  Modes 0 and 1 answer
    ``OK`` and later the URC ``+QSSLOPEN: <id>,<err>``; mode 2 answers
    ``CONNECT`` and the line turns transparent (``Framing.DATA_MODE``).
    ``negotiate_time`` (10-300) is the context's ``negotiatetime``; the
    timeout is the manual's 150 s plus it.
    """
    pdp = check_pdp_context(pdp_ctx)
    ssl = _ssl_ctx(ssl_ctx)
    cid = _client(client_id)
    check_text("host", host, 253, empty_ok=False)
    p = check_int("port", port, 1, 65535)
    m = check_int("access mode", mode, 0, 2)
    nt = check_int("negotiate time", negotiate_time, 10, 300)
    return Command(
        f'AT+QSSLOPEN={pdp},{ssl},{cid},"{host}",{p},{m}',
        framing=_access_mode_framing(m),
        timeout=150.0 + nt,
    )


# Sending the payload of a 1460-byte QSSLSEND takes 1.5 s at 9600 baud.
_SEND_TIMEOUT = 10.0


def qsslsend(client_id: int, length: int) -> Command:
    """``AT+QSSLSEND=<id>,<len>`` (1-1460): after ``> `` write exactly len bytes.

    Answers ``SEND OK``, ``SEND FAIL`` (buffer full: retry later) or ``ERROR``.
    """
    n = check_int("send length", length, 1, MAX_SEND)
    return Command(
        f"AT+QSSLSEND={_client(client_id)},{n}",
        framing=Framing.PROMPT_PAYLOAD,
        payload_len=n,
        timeout=_SEND_TIMEOUT,
    )


def qsslsend_ctrlz(client_id: int) -> Command:
    """``AT+QSSLSEND=<id>``: after ``> `` write the data and Ctrl-Z (see ``ctrlz_payload``).

    This form cannot carry 0x1A (Ctrl-Z ends the data) or 0x1B (ESC cancels
    the send); prefer ``qsslsend`` with a length.
    """
    return Command(
        f"AT+QSSLSEND={_client(client_id)}",
        framing=Framing.PROMPT_PAYLOAD,
        payload_len=None,
        timeout=_SEND_TIMEOUT,
    )


def ctrlz_payload(data: bytes) -> bytes:
    """``data`` plus the Ctrl-Z that ends a ``qsslsend_ctrlz`` payload.

    ``ValueError`` if data is empty, longer than ``MAX_SEND`` bytes, or holds 0x1A
    or 0x1B, which this form cannot carry.
    """
    data = bytes(data)
    check_int("send length", len(data), 1, MAX_SEND)
    for bad, what in ((0x1A, "0x1A (Ctrl-Z)"), (0x1B, "0x1B (ESC)")):
        at_ = data.find(bad)
        if at_ >= 0:
            raise ValueError(f"data holds {what} at offset {at_}; the Ctrl-Z send cannot carry it")
    return data + b"\x1a"


def qsslrecv(client_id: int, length: int = MAX_RECV) -> Command:
    """``AT+QSSLRECV=<id>,<len>`` (1-1500): ``+QSSLRECV: <n>`` then n raw bytes, ``OK``."""
    n = check_int("receive length", length, 1, MAX_RECV)
    return Command(
        f"AT+QSSLRECV={_client(client_id)},{n}",
        info_prefixes=("+QSSLRECV",),
        framing=Framing.RECV_PAYLOAD,
        recv_limit=n,
        timeout=DEFAULT_TIMEOUT,
    )


def qsslclose(client_id: int, close_timeout: int = 10) -> Command:
    """``AT+QSSLCLOSE=<id>[,<close_timeout>]`` (0-65535 s; 0 closes at once).

    The default of 10 s is the module's own, so it is left out, as in the
    manual's example ``AT+QSSLCLOSE=4``.  Timeout: close_timeout + 5 s.
    """
    cid = _client(client_id)
    ct = check_int("close timeout", close_timeout, 0, 65535)
    text = f"AT+QSSLCLOSE={cid}" if ct == 10 else f"AT+QSSLCLOSE={cid},{ct}"
    return Command(text, timeout=ct + 5.0)


def qsslstate(client_id: int | None = None) -> Command:
    """``AT+QSSLSTATE[=<id>]``: one ``+QSSLSTATE`` line per socket; bare ``OK`` if none."""
    text = "AT+QSSLSTATE" if client_id is None else f"AT+QSSLSTATE={_client(client_id)}"
    return Command(text, info_prefixes=("+QSSLSTATE",), timeout=DEFAULT_TIMEOUT)


class SocketState(enum.IntEnum):
    """``<socket_state>`` of ``+QSSLSTATE`` (manual 2.1.6)."""

    INITIAL = 0
    """Not connected yet."""
    OPENING = 1
    """The client is connecting."""
    CONNECTED = 2
    """The connection is up."""
    LISTENING = 3
    """A server listens (the manual lists it; SSL clients never are)."""
    CLOSING = 4
    """The connection is being closed (the peer closed, or ``AT+QSSLCLOSE``)."""


def _socket_state(number: int) -> SocketState | int:
    try:
        return SocketState(number)
    except ValueError:
        return number


@dataclass(frozen=True, slots=True)
class SslSocketState:
    """``+QSSLSTATE: <id>,"SSLClient","<address>",<remote>,<local>,<state>,<pdp>,
    <server>,<mode>,"<at_port>",<ssl_ctx>`` (manual 2.1.6).

    Fields a firmware leaves out or writes oddly are None; ``state`` is a
    ``SocketState``, or the plain number when the manual lists no such state.
    """

    client_id: int
    kind: str | None
    address: str | None
    remote_port: int | None
    local_port: int | None
    state: SocketState | int
    pdp_ctx: int | None
    server_id: int | None
    access_mode: int | None
    at_port: str | None
    ssl_ctx: int | None

    @property
    def state_name(self) -> str:
        if isinstance(self.state, SocketState):
            return self.state.name.lower()
        return f"state {self.state}"


def parse_qsslstate(text: str) -> SslSocketState:
    """``+QSSLSTATE: 4,"SSLClient","220.180.239.212",8010,65344,2,1,4,0,"usbmodem",1``."""
    f = info_fields(text, "+QSSLSTATE")
    client_id = int_field(text, f, 0, "client id")
    state = _socket_state(int_field(text, f, 5, "socket state"))

    def num(i: int) -> int | None:
        v = f[i] if i < len(f) else None
        return v if isinstance(v, int) else None

    def txt(i: int) -> str | None:
        return str(f[i]) if i < len(f) and str(f[i]) else None

    return SslSocketState(
        client_id, txt(1), txt(2), num(3), num(4), state, num(6), num(7), num(8), txt(9), num(10)
    )


def qiswtmd(client_id: int, mode: int) -> Command:
    """``AT+QISWTMD=<id>,<mode>``: switch access mode; mode 2 answers ``CONNECT``."""
    m = check_int("access mode", mode, 0, 2)
    return Command(
        f"AT+QISWTMD={_client(client_id)},{m}",
        framing=_access_mode_framing(m),
        timeout=DEFAULT_TIMEOUT,
    )


def ato() -> Command:
    """``ATO``: back to the transparent connection left by ``+++`` (``CONNECT`` or
    ``NO CARRIER``)."""
    return Command("ATO", framing=Framing.DATA_MODE, timeout=DEFAULT_TIMEOUT)

