"""Bring-up: from a silent serial line to a module ready for SSL sockets.

Steps (each fails with a one-line ``BringUpError`` that says what to do):

1. sync (``AT`` until ``OK``, done by the caller: ``AtChannel.sync``), ``ATE0``,
   ``AT+CMEE=1`` (numeric error codes), then URCs routed to our port
   (``AT+QURCCFG="urcport"``; firmware without it is tolerated);
2. SIM ready (``AT+CPIN?``; its PIN entered when that is safe:
   ``modem.bringup.sim``) and network registration (``AT+CEREG?`` /
   ``AT+CREG?``, polled within a bound);
3. the module clock set when it is wrong, from the host clock if that is
   plausible, else from the network's time, since certificate validity is
   checked against it (manual 1.4; ``clock_policy``);
4. the PDP context configured (``AT+QICSGP``) and activated (``AT+QIACT``),
   or reused when already active (manual 1.2, steps 1-2);
5. sockets left over from an earlier run closed (``AT+QSSLSTATE``);
6. certificate and key files uploaded with ``AT+QFUPL`` (checksum
   verified; skipped when ``AT+QFLST`` shows the module holds the same file);
7. one SSL context per TLS profile configured with ``AT+QSSLCFG``
   (manual 2.1.1); then the settings this firmware offers read from
   ``AT+QSSLCFG=?`` and, where one checks the server's host name (not in
   the manual; ``commands._ssl_features``), it set in every context.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import trio

from modem.bringup.clock_sync import HostClock, sync_clock
from modem.core import commands
from modem.core.clock_policy import ClockDecision
from modem.core.errors import (
    LINE_LOSS_HINT,
    AtProtocolError,
    FileTimeout,
    ModemError,
    ModuleTimeout,
    render,
)
from modem.core.limits import CLIENT_IDS, SSL_CONTEXTS
from modem.core.log_fields import kv
from modem.core.profile import TlsProfile, module_file_name
from modem.link.channel import AtChannel
from modem.link.response_errors import error_of, expect_ok

_A = TypeVar("_A")
_R = TypeVar("_R")
log = logging.getLogger("modem.bringup")

MAX_CONTEXTS = SSL_CONTEXTS
FILE_PREFIX = "sp-"


class BringUpError(ModemError):
    """Bring-up failed; the message says which step, ``hint`` what to do."""


@dataclass(frozen=True)
class PdpSettings:
    """The PDP context the sockets use (``AT+QICSGP``; manual 1.2).

    ``apn`` None: use whatever the module already has configured.
    """

    context_id: int = 1
    apn: str | None = None
    username: str = ""
    password: str = ""
    auth: int = 0

    def __repr__(self) -> str:  # never show the password
        return (f"PdpSettings(context_id={self.context_id}, apn={self.apn!r}, "
                f"username={self.username!r}, password={'***' if self.password else ''!r})")


async def identify(channel: AtChannel) -> commands.ModuleIdentity:
    resp = await expect_ok(channel, commands.ati())
    return parsed(commands.parse_ati, resp.lines, "ATI")


def parsed(parse: Callable[[_A], _R], answer: _A, command: str) -> _R:
    """``parse(answer)``: an answer that does not parse is the module's protocol
    error (its lines lost on the way, garbage), which a new bring-up retries."""
    try:
        return parse(answer)
    except ValueError as exc:
        raise AtProtocolError(f"{command}: {exc}", side="module") from None


async def configure_line(channel: AtChannel) -> None:
    """Echo off, numeric errors (the caller has synced the line)."""
    await expect_ok(channel, commands.echo(False))
    await expect_ok(channel, commands.cmee(1))


async def route_urcs(channel: AtChannel, port: str | None, reason: str = "bring-up"
                     ) -> str | None:
    """Make the module send its URCs to ``port``, the AT port we own.

    EC2x firmware sends every URC (``+QSSLOPEN``, ``+QSSLURC``...) to one
    port, ``usbat`` by default (Quectel AT Commands Manual, ``AT+QURCCFG``);
    a host on another port hears none and every open waits out its 150 s.
    Reads the setting and, when ``port`` is given and differs, sets it (the
    module keeps it in NVM).  ``"all"`` already reaches us and is left.
    Firmware that answers ``ERROR`` is logged and tolerated.  Returns the
    setting now in force (None: unknown).  ``reason`` is why ``port`` (its one
    log line): bring-up's guess, or the module's own word (``core.module_word``).
    """
    resp = await channel.run(commands.qurccfg_urcport_query())
    found = None
    if resp.ok and resp.lines:
        try:
            found = commands.parse_qurccfg_urcport(resp.lines[0])
        except ValueError:
            found = None
    if found is None:
        log.info("URC port unknown (AT+QURCCFG not supported), left as is", extra=kv(want=port))
        return None
    if port is None or found in (port, "all"):
        log.info("URC port", extra=kv(found=found, set="unchanged", want=port, reason=reason))
        return found
    try:
        await expect_ok(channel, commands.qurccfg_urcport(port))
    except ModemError as exc:
        log.warning("URC port not set", extra=kv(found=found, want=port, reason=reason,
                                                 error=render(exc)))
        return found
    log.info("URC port", extra=kv(found=found, set=port, reason=reason))
    return port


async def wait_registered(channel: AtChannel, within: float) -> str:
    """Poll registration until home or roaming; returns its description."""
    last = "unknown"
    with trio.move_on_after(within):
        while True:
            for query in (commands.cereg_query(), commands.creg_query()):
                resp = await channel.run(query)
                if resp.ok and resp.lines:
                    try:
                        reg = commands.parse_registration(resp.lines[0])
                    except ValueError:
                        continue
                    if reg.registered:
                        return reg.describe()
                    last = reg.describe()
            await trio.sleep(1.0)
    raise BringUpError(f"not registered on the network ({last}) after {within:g} s",
                       hint="check the antenna, the SIM's subscription and the coverage")


async def set_clock(channel: AtChannel,
                    host_clock: HostClock = time.time) -> ClockDecision:
    """Set the module clock from a trustworthy source, if any (manual 1.4;
    the policy is ``modem.core.clock_policy``)."""
    return await sync_clock(channel, host_clock)


async def activate_pdp(channel: AtChannel, pdp: PdpSettings) -> str:
    """Configure and activate the PDP context, or reuse it; returns its address."""
    cid = pdp.context_id
    if pdp.apn is not None:
        await expect_ok(channel, commands.qicsgp(
            cid, pdp.apn, pdp.username, pdp.password, pdp.auth))
    address = await pdp_address(channel, cid)
    if address is not None:
        return address
    try:
        await expect_ok(channel, commands.qiact(cid))
    except ModemError as exc:
        apn = f"APN {pdp.apn!r}" if pdp.apn is not None else "the module's configured APN"
        hint = "check --apn, --apn-user and --apn-password" if pdp.apn is not None \
            else "give --apn"
        raise BringUpError(f"could not activate PDP context {cid} with {apn} ({exc})",
                           hint=hint) from exc
    address = await pdp_address(channel, cid)
    if address is None:
        raise BringUpError(f"PDP context {cid} did not come up",
                           hint="check --apn and the SIM's plan")
    return address


async def pdp_address(channel: AtChannel, context_id: int) -> str | None:
    """The IP address of ``context_id`` when it is active (``AT+QIACT?``)."""
    resp = await expect_ok(channel, commands.qiact_query())
    for line in resp.lines:
        try:
            state = commands.parse_qiact(line)
        except ValueError:
            continue
        if state.context_id == context_id and state.active:
            return state.address
    return None


async def quiet_sockets(channel: AtChannel) -> None:
    """Close every client ID, answers or not: after bytes were lost on the line,
    a module still pushing for the last life's sockets keeps the line too busy
    (and too lossy) for a state query to come through whole.  A close of an ID
    that holds nothing is refused, which is fine."""
    for client_id in range(CLIENT_IDS):
        try:
            await channel.run(commands.qsslclose(client_id, 0))
        except (AtProtocolError, ModuleTimeout):
            continue


async def close_stale_sockets(channel: AtChannel) -> list[int]:
    """Close sockets an earlier run left open on the module."""
    resp = await channel.run(commands.qsslstate())
    stale = []
    if resp.ok:
        for line in resp.lines:
            try:
                stale.append(commands.parse_qsslstate(line).client_id)
            except ValueError:
                continue
    for client_id in stale:
        await channel.run(commands.qsslclose(client_id, 0))
    if stale:
        log.info("closed stale sockets", extra=kv(ids=",".join(map(str, stale))))
    return stale


async def upload_files(channel: AtChannel, contents: list[bytes],
                       line_baud: int | None = None) -> dict[bytes, str]:
    """Make sure the module holds each content; returns content -> module file name.

    Files are named by their hash (``module_file_name``), so a file the
    module lists with the same name and size is the same file and is not
    uploaded again.  Our files that are no longer needed are deleted.
    ``line_baud`` sizes the upload wait (``commands.upload_wait``).
    Firmware lists UFS files with or without the ``UFS:`` prefix, so names
    are compared without it.
    """
    resp = await channel.run(commands.qflst("*"))
    present: dict[str, int] = {}
    if resp.ok:
        for line in resp.lines:
            try:
                entry = commands.parse_qflst(line)
            except ValueError:
                continue
            if entry.storage == "UFS":
                present[entry.bare_name] = entry.size
    names: dict[bytes, str] = {}
    for content in contents:
        name = module_file_name(content)
        names[content] = name
        bare = name.removeprefix("UFS:")
        if present.get(bare) == len(content):
            continue
        if bare in present:
            await channel.run(commands.qfdel(name))
        await upload(channel, name, content, line_baud)
    wanted = {name.removeprefix("UFS:") for name in names.values()}
    for bare in present:
        if bare.startswith(FILE_PREFIX) and bare not in wanted:
            await channel.run(commands.qfdel(f"UFS:{bare}"))
    return names


async def upload(channel: AtChannel, name: str, content: bytes,
                 line_baud: int | None = None) -> None:
    """``AT+QFUPL`` with the module's checksum verified; the wait follows the
    size and the line rate (``commands.upload_wait``)."""
    wait = commands.upload_wait(len(content), line_baud)
    for attempt in (1, 2):
        try:
            resp = await channel.run(commands.qfupl(name, len(content), wait), content)
        except ModuleTimeout as exc:
            raise _upload_timed_out(name, len(content), wait, line_baud) from exc
        if resp.ok and resp.lines:
            if parsed(commands.parse_qfupl, resp.lines[0], "AT+QFUPL").matches(content):
                log.info("uploaded file", extra=kv(name=name, size=len(content), wait=wait))
                return
            log.warning("upload damaged, retrying", extra=kv(
                name=name, attempt=attempt, hint=LINE_LOSS_HINT))
            await channel.run(commands.qfdel(name))
            continue
        failure = await error_of(channel, resp, "AT+QFUPL")
        if isinstance(failure, FileTimeout):
            raise _upload_timed_out(name, len(content), wait, line_baud)
        raise BringUpError(f"uploading {name} ({len(content)} bytes) failed: {failure}",
                           hint="check the module's free space (AT+QFLDS)")
    raise BringUpError(f"uploading {name} failed twice with a bad checksum",
                       hint="check the serial line")


def _upload_timed_out(name: str, size: int, wait: int, line_baud: int | None) -> BringUpError:
    baud = line_baud or commands.DEFAULT_LINE_BAUD
    return BringUpError(f"uploading {name} ({size} bytes) timed out after {wait} s at {baud} baud",
                        hint="check that --baud is the line's real speed, or give a smaller "
                             "--cacert (only the CAs your servers need)")


async def configure_contexts(
    channel: AtChannel, profiles: list[TlsProfile], files: dict[bytes, str],
) -> dict[TlsProfile, int]:
    """One SSL context per distinct profile, ``<SSL_ctxID>`` 0-5 (manual 2.1.1)."""
    contexts: dict[TlsProfile, int] = {}
    for profile in profiles:
        if profile in contexts:
            continue
        ctx = len(contexts)
        if ctx >= MAX_CONTEXTS:
            raise BringUpError(
                f"more than {MAX_CONTEXTS} distinct TLS profiles: "
                f"the module has {SSL_CONTEXTS} SSL contexts")
        await configure_context(channel, ctx, profile, files)
        contexts[profile] = ctx
    return contexts


async def read_ssl_settings(channel: AtChannel) -> tuple[str, ...]:
    """The setting names ``AT+QSSLCFG=?`` lists (empty when it answers ``ERROR``)."""
    resp = await channel.run(commands.qsslcfg_test())
    return parsed(commands.parse_qsslcfg_test, resp.lines, "AT+QSSLCFG=?") if resp.ok else ()


async def configure_host_checks(
    channel: AtChannel, contexts: dict[TlsProfile, int], offered: tuple[str, ...],
) -> frozenset[TlsProfile]:
    """Where the firmware ``offered`` a host-name check, set it in every context:
    on for profiles with ``check_host``, off for the others (a context keeps
    what an earlier run set).  Returns the profiles whose opens check the
    server's name.  A refused setting is logged and leaves that one unchecked.
    """
    setting = commands.host_check_setting(offered)
    if setting is None:
        return frozenset()
    checked = set()
    for profile, ctx in contexts.items():
        try:
            await expect_ok(channel, commands.qsslcfg_host_check(ctx, setting, profile.check_host))
        except ModemError as exc:
            log.warning("host name check refused", extra=kv(setting=setting, ctx=ctx,
                                                          error=render(exc)))
            continue
        if profile.check_host:
            checked.add(profile)
    log.info("host name check", extra=kv(setting=setting, contexts_on=len(checked)))
    return frozenset(checked)
async def configure_context(channel: AtChannel, ctx: int, profile: TlsProfile,
                            files: dict[bytes, str]) -> None:
    """Configure SSL context ``ctx`` for ``profile`` (``AT+QSSLCFG``, manual 2.1.1);
    ``files`` maps each file content to its module name (``upload_files``)."""
    cmds = [
        commands.qsslcfg_sslversion(ctx, profile.sslversion),
        commands.qsslcfg_ciphersuite(ctx, profile.ciphersuites),
        commands.qsslcfg_seclevel(ctx, profile.seclevel),
        commands.qsslcfg_ignorelocaltime(ctx, profile.ignore_local_time),
        commands.qsslcfg_negotiatetime(ctx, profile.negotiate_timeout),
        commands.qsslcfg_sni(ctx, profile.sni),
    ]
    if profile.cacert is not None:
        cmds.append(commands.qsslcfg_cacert(ctx, files[profile.cacert]))
    if profile.clientcert is not None:
        cmds.append(commands.qsslcfg_clientcert(ctx, files[profile.clientcert]))
    if profile.clientkey is not None:
        cmds.append(commands.qsslcfg_clientkey(ctx, files[profile.clientkey]))
    for cmd in cmds:
        try:
            await expect_ok(channel, cmd)
        except ModemError as exc:
            raise BringUpError(f"the module refused {cmd.loggable} ({exc})",
                               hint="check the TLS version and cipher suites") from exc
