"""The "recv" URC's re-arm (``--recv-urc-rearm``) and the ``urc_loss`` fault, over a real pty."""

from __future__ import annotations

import pytest
import trustme

from modem.emulator import EmulatorConfig, Fault
from modem.emulator.__main__ import build_parser
from modem.emulator.fault_spec import parse_fault_spec
from modem.emulator.faults import UrcLoss
from tests.helpers import wait_until

from .conftest import Host, emulator_host


async def online_host(emu, host: Host, ca: trustme.CA) -> None:
    await host.send("ATE0\r")
    await host.expect(b"ATE0\r\r\nOK\r\n")
    assert await host.command("AT+QIACT=1") == b"\r\nOK\r\n"
    emu.files.put("UFS:cacert.pem", ca.cert_pem.bytes())


async def test_empty_rearm_sends_the_next_urc_only_after_an_empty_read(ca, echo_server):
    config = EmulatorConfig(recv_urc_rearm="empty")
    async with emulator_host(config) as (emu, host):
        await online_host(emu, host, ca)
        assert await host.open_ssl(1, "127.0.0.1", echo_server.port) == 0
        sock = emu.module.sockets[1]
        assert await host.send_data(1, b"abc") == b"SEND OK"
        await host.urc(b'+QSSLURC: "recv",1')
        assert await host.recv_data(1) == b"abc"  # short: the buffer is empty now...
        assert sock.recv_urc_sent  # ...but not re-armed
        assert await host.send_data(1, b"def") == b"SEND OK"
        await wait_until(lambda: sock.rx)
        assert sock.recv_urc_sent  # so no URC for "def"
        assert await host.recv_data(1) == b"def"
        assert await host.recv_data(1) == b""  # the empty read re-arms
        assert not sock.recv_urc_sent
        assert await host.send_data(1, b"ghi") == b"SEND OK"
        await host.urc(b'+QSSLURC: "recv",1')
        assert b'+QSSLURC: "recv",1' not in host.urcs


async def test_drain_rearm_rearms_once_a_read_empties_the_buffer(ca, echo_server):
    async with emulator_host(EmulatorConfig()) as (emu, host):
        await online_host(emu, host, ca)
        assert await host.open_ssl(1, "127.0.0.1", echo_server.port) == 0
        assert await host.send_data(1, b"abc") == b"SEND OK"
        await host.urc(b'+QSSLURC: "recv",1')
        assert await host.recv_data(1) == b"abc"
        assert not emu.module.sockets[1].recv_urc_sent


async def test_urc_loss_drops_the_kinds_it_names(ca, echo_server):
    async with emulator_host(EmulatorConfig()) as (emu, host):
        await online_host(emu, host, ca)
        await emu.inject(Fault.urc_loss(1.0, ("recv",)))
        assert await host.open_ssl(2, "127.0.0.1", echo_server.port) == 0  # kept
        sock = emu.module.sockets[2]
        assert await host.send_data(2, b"hello") == b"SEND OK"
        await wait_until(lambda: sock.rx and sock.recv_urc_sent)
        assert await host.recv_data(2) == b"hello"
        assert not any(urc.startswith(b'+QSSLURC: "recv"') for urc in host.urcs)
        sock.drop_connection()
        await host.urc(b'+QSSLURC: "closed",2')  # not named: kept


def test_urc_loss_specs_parse_and_bad_ones_say_what_is_wrong():
    assert parse_fault_spec("urc_loss:0.3").fault == UrcLoss(0.3)
    assert parse_fault_spec("urc_loss:1,recv,closed@2s").fault == UrcLoss(1.0, ("recv", "closed"))
    with pytest.raises(ValueError, match="no URC kind 'data'"):
        parse_fault_spec("urc_loss:0.5,data")
    with pytest.raises(ValueError, match="not between 0 and 1"):
        parse_fault_spec("urc_loss:2")
    with pytest.raises(ValueError, match="want RATE"):
        parse_fault_spec("urc_loss")


def test_the_cli_takes_the_rearm_behaviour():
    assert build_parser().parse_args(["--recv-urc-rearm", "empty"]).recv_urc_rearm == "empty"
    assert build_parser().parse_args([]).recv_urc_rearm == "drain"
    with pytest.raises(ValueError, match="recv_urc_rearm must be one of drain, empty"):
        EmulatorConfig(recv_urc_rearm="never")
