"""The commands docs/operations.md shows for the AT console, answered like a real module.

Real answers found (public device logs and drivers; see the handlers' docstrings):

* ``AT+QENG="servingcell"`` on EC2x/EG25 (LTE): ``+QENG: "servingcell","NOCONN","LTE","FDD",
  302,610,844D92A,248,900,2,5,5,D6E7,-89,-8,-61,17,38`` (18 fields after the name);
* ``AT+QFLDS="UFS"``: ``+QFLDS: <free_size>,<total_size>``, e.g. BG96 ``+QFLDS: 12883392,14483456``;
* a line of several commands (V.25ter): each one's lines, then one ``OK``; the first
  failure ends the line with its error and the rest are not run.
"""

from __future__ import annotations

import re

from .conftest import Host

SERVING_CELL = re.compile(
    rb'\r\n\+QENG: "servingcell","(NOCONN|CONNECT)","LTE","(FDD|TDD)",\d{3},\d{2,3},[0-9A-F]+,'
    rb"\d+,\d+,\d+,\d,\d,[0-9A-F]+,-\d+,-\d+,-\d+,-?\d+,\d+\r\n\r\nOK\r\n")


async def test_serving_cell(host: Host) -> None:
    await host.send('AT+QENG="servingcell"\r')
    assert SERVING_CELL.fullmatch(await host.read_until(b"OK\r\n"))
    await host.send('AT+QENG="neighbourcell"\r')
    await host.expect(b"\r\nERROR\r\n")  # not emulated: refused, not made up


async def test_file_space_shrinks_by_what_is_stored(host: Host) -> None:
    await host.send('AT+QFLDS="UFS"\r')
    before = re.fullmatch(rb"\r\n\+QFLDS: (\d+),(\d+)\r\n\r\nOK\r\n",
                          await host.read_until(b"OK\r\n"))
    assert before and int(before[1]) == int(before[2])
    await host.send('AT+QFUPL="UFS:a.pem",10\r')
    await host.expect(b"\r\nCONNECT\r\n")
    await host.send(b"0123456789")
    await host.read_until(b"OK\r\n")
    await host.send("AT+QFLDS\r")  # no area: UFS
    after = re.fullmatch(rb"\r\n\+QFLDS: (\d+),(\d+)\r\n\r\nOK\r\n",
                         await host.read_until(b"OK\r\n"))
    assert after and int(after[1]) == int(before[1]) - 10 and after[2] == before[2]
    await host.send('AT+QFLDS="RAM"\r')
    assert re.fullmatch(rb"\r\n\+QFLDS: \d+,\d+\r\n\r\nOK\r\n", await host.read_until(b"OK\r\n"))


async def test_a_line_of_several_commands(host: Host) -> None:
    await host.send("AT+CSQ;+CEREG?\r")
    await host.expect(b"\r\n+CSQ: 20,99\r\n\r\n+CEREG: 0,1\r\n\r\nOK\r\n")
    await host.send('AT+CSQ;+QENG="servingcell";+COPS?\r')
    answer = await host.read_until(b"OK\r\n")
    assert answer.count(b"OK") == 1 and b"+QENG:" in answer and b"+COPS:" in answer
    await host.send("AT+CSQ;+NOSUCH;+CEREG?\r")  # stops at the failure
    await host.expect(b"\r\n+CSQ: 20,99\r\n\r\nERROR\r\n")
    await host.send("AT\r")
    await host.expect(b"\r\nOK\r\n")
