"""The builders' framing against the real protocol object."""

from __future__ import annotations

from modem.core import commands as c
from modem.core import events as ev
from modem.core.protocol import AtConnection


def _run(cmd, reply: bytes) -> list[ev.Event]:
    conn = AtConnection()
    assert conn.send_command(cmd) == cmd.encode()
    return conn.receive_data(reply)


def test_qsslrecv_framing_drives_the_protocol() -> None:
    events = _run(c.qsslrecv(4, 1500), b"\r\n+QSSLRECV: 16\r\nTest data\r\nOK\r\n!\r\n\r\nOK\r\n")
    assert events == [ev.RecvPayload(b"Test data\r\nOK\r\n!"), ev.Ok()]


def test_qfupl_framing_drives_the_protocol() -> None:
    data = b"-----BEGIN\r\nOK\r\n"
    cmd = c.qfupl("UFS:ca.pem", len(data))
    conn = AtConnection()
    conn.send_command(cmd)
    assert conn.receive_data(b"\r\nCONNECT\r\n") == [ev.Connect()]
    assert conn.send_payload(data) == data
    line = f"+QFUPL: {len(data)},{c.qfupl_checksum(data):x}"
    events = conn.receive_data(f"\r\n{line}\r\n\r\nOK\r\n".encode())
    assert events == [ev.InfoLine(line), ev.Ok()]
    assert c.parse_qfupl(line).matches(data)


def test_qsslsend_prompt_and_info_lines_drive_the_protocol() -> None:
    conn = AtConnection()
    conn.send_command(c.qsslsend(4, 5))
    assert conn.receive_data(b"\r\n> ") == [ev.Prompt()]
    conn.send_payload(b"hello")
    assert conn.receive_data(b"\r\nSEND OK\r\n") == [ev.SendOk()]

    line = '+QSSLSTATE: 4,"SSLClient","220.180.239.212",8010,65344,2,1,4,0,"usbmodem",1'
    events = _run(c.qsslstate(), f"\r\n{line}\r\n\r\nOK\r\n".encode())
    assert events == [ev.InfoLine(line), ev.Ok()]
    assert c.parse_qsslstate(events[0].text).client_id == 4

    events = _run(c.ati(), b"\r\nQuectel\r\nEC25\r\nRevision: EC25EFAR06A06M4G\r\n\r\nOK\r\n")
    lines = [e.text for e in events if isinstance(e, ev.InfoLine)]
    assert c.parse_ati(lines).model == "EC25"


def test_qsslopen_transparent_enters_data_mode() -> None:
    conn = AtConnection()
    conn.send_command(c.qsslopen(1, 1, 4, "220.180.239.212", 8011, 2))
    assert conn.receive_data(b"\r\nCONNECT\r\n") == [ev.Connect()]
    assert conn.transparent
