"""PDP context commands of Quectel's TCP(IP) AT Commands Manual (sans-I/O).

``AT+QICSGP``, ``AT+QIACT``, ``AT+QIDEACT``, ``AT+QIGETERROR``,
``AT+QIDNSCFG``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from modem.core.at_command import Command
from modem.core.commands._fields import (
    DECIMAL,
    DEFAULT_TIMEOUT,
    QUICK_TIMEOUT,
    check_int,
    check_text,
    info_fields,
    int_field,
    quote,
    unreadable,
)


def check_pdp_context(context_id: int) -> int:
    """``<contextID>`` 1-16 (TCP/IP manual, AT+QICSGP); ``AT+QSSLOPEN`` takes it too."""
    return check_int("PDP context id", context_id, 1, 16)


def qicsgp(
    context_id: int,
    apn: str,
    username: str = "",
    password: str = "",
    auth: int = 0,
    context_type: int = 1,
) -> Command:
    """``AT+QICSGP=<ctx>,<type>,"<apn>","<user>","<password>",<auth>`` (manual 3.1.1).

    ``context_type`` 1 IPv4, 2 IPv6, 3 IPv4v6; ``auth`` 0 none, 1 PAP, 2
    CHAP, 3 PAP or CHAP.  ``log_text`` shows ``"***"`` for a password; if
    the password also occurs in the APN or user name, those are masked too,
    so the log never holds the password's text in a quoted field.
    """
    ctx = check_pdp_context(context_id)
    ctype = check_int("PDP context type", context_type, 1, 3)
    check_text("APN", apn, 100)
    check_text("username", username, 127)
    check_text("password", password, 127)
    a = check_int("authentication", auth, 0, 3)
    text = f'AT+QICSGP={ctx},{ctype},"{apn}","{username}","{password}",{a}'
    if password:
        shown_apn = "***" if password in apn else apn
        shown_user = "***" if password in username else username
        log = f'AT+QICSGP={ctx},{ctype},"{shown_apn}","{shown_user}","***",{a}'
    else:
        log = text
    return Command(text, timeout=QUICK_TIMEOUT, log_text=log)


def qicsgp_query(context_id: int) -> Command:
    """``AT+QICSGP=<ctx>``: the context's configuration."""
    return Command(
        f"AT+QICSGP={check_pdp_context(context_id)}",
        info_prefixes=("+QICSGP",),
        timeout=QUICK_TIMEOUT,
    )


@dataclass(frozen=True, slots=True)
class PdpContextConfig:
    """``+QICSGP: <type>,"<apn>","<user>","<password>",<auth>``; the password is not in repr."""

    context_type: int
    apn: str
    username: str
    password: str = field(repr=False)
    auth: int
    context_id: int | None = None


def parse_qicsgp(text: str) -> PdpContextConfig:
    """``+QICSGP: 1,"UNINET","","",1`` (some firmware put the context id first)."""
    fields = info_fields(text, "+QICSGP")
    ctx_id = None
    if len(fields) >= 6 and isinstance(fields[1], int):
        ctx_id, fields = int(fields[0]), fields[1:]
    if len(fields) < 4:
        raise unreadable(text, "want <type>,<apn>,<username>,<password>[,<auth>]")
    ctype = int_field(text, fields, 0, "context type")
    apn, user, pwd = (str(f) for f in fields[1:4])
    auth = int_field(text, fields, 4, "authentication") if len(fields) > 4 else 0
    return PdpContextConfig(ctype, apn, user, pwd, auth, ctx_id)


def qiact(context_id: int) -> Command:
    """``AT+QIACT=<ctx>``: activate the PDP context (manual maximum 150 s)."""
    return Command(f"AT+QIACT={check_pdp_context(context_id)}", timeout=150.0)


def qiact_query() -> Command:
    """``AT+QIACT?``: one ``+QIACT`` line per active context; bare ``OK`` if none."""
    return Command("AT+QIACT?", info_prefixes=("+QIACT",), timeout=DEFAULT_TIMEOUT)


@dataclass(frozen=True, slots=True)
class PdpContextState:
    """``+QIACT: <ctx>,<state>,<type>[,"<address>"]``; state 1 is activated."""

    context_id: int
    state: int
    context_type: int
    address: str | None

    @property
    def active(self) -> bool:
        return self.state == 1


def parse_qiact(text: str) -> PdpContextState:
    """``+QIACT: 1,1,1,"10.7.157.1"``; a missing address is None, extra fields are ignored."""
    fields = info_fields(text, "+QIACT")
    ctx = int_field(text, fields, 0, "context id")
    state = int_field(text, fields, 1, "context state")
    ctype = int_field(text, fields, 2, "context type")
    address = str(fields[3]) if len(fields) > 3 and str(fields[3]) else None
    return PdpContextState(ctx, state, ctype, address)


def qideact(context_id: int) -> Command:
    """``AT+QIDEACT=<ctx>``: deactivate the PDP context (manual maximum 40 s)."""
    return Command(f"AT+QIDEACT={check_pdp_context(context_id)}", timeout=40.0)


def qigeterror() -> Command:
    """``AT+QIGETERROR``: code and text of the last TCP/IP or SSL error (manual chapter 5)."""
    return Command("AT+QIGETERROR", info_prefixes=("+QIGETERROR",), timeout=QUICK_TIMEOUT)


def parse_qigeterror(text: str) -> tuple[int, str]:
    """``+QIGETERROR: 566,socket connect failed`` -> ``(566, "socket connect failed")``.

    The description runs to the end of the line (it may hold commas); quotes
    around it are dropped.
    """
    line = text.strip("\r\n")
    if not line.startswith("+QIGETERROR:"):
        raise ValueError(f"expected a +QIGETERROR line, got {text!r}")
    code, _, desc = line[len("+QIGETERROR:") :].partition(",")
    code = code.strip()
    if not DECIMAL.fullmatch(code):
        raise unreadable(text, "error code is not a number")
    desc = desc.strip()
    if len(desc) >= 2 and desc[0] == desc[-1] == '"':
        desc = desc[1:-1]
    return int(code), desc


def qidnscfg(context_id: int, primary: str | None = None, secondary: str | None = None) -> Command:
    """``AT+QIDNSCFG=<ctx>[,"<primary>"[,"<secondary>"]]``; the query form when both are None.

    Addresses must be literal IPv4 or IPv6 addresses.
    """
    ctx = check_pdp_context(context_id)
    if primary is None:
        if secondary is not None:
            raise ValueError("QIDNSCFG secondary DNS given without a primary")
        return Command(f"AT+QIDNSCFG={ctx}", info_prefixes=("+QIDNSCFG",), timeout=DEFAULT_TIMEOUT)
    parts = [str(ctx)]
    for name, addr in (("primary DNS", primary), ("secondary DNS", secondary)):
        if addr is None:
            continue
        try:
            ipaddress.ip_address(addr)
        except ValueError:
            raise ValueError(f"{name} must be an IP address, got {addr!r}") from None
        parts.append(quote(addr, name))
    return Command("AT+QIDNSCFG=" + ",".join(parts), timeout=DEFAULT_TIMEOUT)


@dataclass(frozen=True, slots=True)
class DnsConfig:
    context_id: int
    primary: str | None
    secondary: str | None


def parse_qidnscfg(text: str) -> DnsConfig:
    """``+QIDNSCFG: 1,"8.8.8.8","8.8.4.4"`` (quotes optional; missing or empty is None)."""
    fields = info_fields(text, "+QIDNSCFG")
    ctx = int_field(text, fields, 0, "context id")
    addrs = [str(f) or None for f in fields[1:3]]
    addrs += [None] * (2 - len(addrs))
    return DnsConfig(ctx, addrs[0], addrs[1])


