"""A bring-up answer that does not parse is the module's protocol error, not a crash.

Two 30-minute cmux soaks ended with the proxy process gone: ``ATI`` answered
``OK`` with its lines lost on the multiplexed line, and ``parse_ati``'s
``ValueError`` left the supervisor."""

from __future__ import annotations

import pytest

from modem.bringup.steps import parsed
from modem.core import commands
from modem.core.errors import AtProtocolError
from modem.core.stream_errors import is_line_noise


def test_an_answer_that_does_not_parse_is_the_modules_protocol_error() -> None:
    with pytest.raises(AtProtocolError, match="ATI: cannot read ATI answer") as info:
        parsed(commands.parse_ati, [], "ATI")
    assert info.value.side == "module" and is_line_noise(info.value)
    identity = parsed(commands.parse_ati, ["Quectel", "EC25", "Revision: X"], "ATI")
    assert identity.model == "EC25"
