"""Every command in every form answers as the emulator did before handlers were declared.

``data/command_forms.txt`` was recorded from the emulator whose handlers
still answered the test form and refused unsupported forms one by one (each
line: the command, its answer, then the ``AT+QIGETERROR`` answer after it).
The declarations (``registry.CommandTable.command``) must give the same
bytes, ``AT+QIGETERROR`` codes included.  Forms: test ``=?``, read ``?``,
execute, and writes that are out of range (``=99``), in range (``=1``) or
quoted (``="x"``).  The time in ``+QLTS`` / ``+CCLK`` answers is masked.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from .conftest import Host

DATA = Path(__file__).with_name("data") / "command_forms.txt"
_BYTES = r"b'(?:[^'\\]|\\.)*'" + "|" + r'b"(?:[^"\\]|\\.)*"'  # a bytes repr
_ROW = re.compile(rf"^(\S+) ({_BYTES}) ({_BYTES})$")


def recorded() -> list[tuple[str, bytes, bytes]]:
    rows = []
    for line in DATA.read_text().splitlines():
        m = _ROW.match(line)
        assert m, line
        rows.append((m[1], ast.literal_eval(m[2]), ast.literal_eval(m[3])))
    return rows


async def test_every_form_of_every_command_answers_as_recorded(host: Host) -> None:
    rows = recorded()
    assert len(rows) == 233
    for command, answer, error in rows:
        got = await host.command(command)
        if command.startswith(("AT+QLTS", "AT+CCLK")):
            got = re.sub(rb'"[^"]*"', b'"T"', got)
        assert (command, got) == (command, answer)
        assert (command, await host.command("AT+QIGETERROR")) == (command, error)
