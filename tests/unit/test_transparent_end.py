"""Unit tests of when a transparent-mode end counts as proven
(``modem.sockets.transparent_end``)."""

from __future__ import annotations

import pytest

from modem.core import events as ev
from modem.sockets.transparent_end import (
    EndMarker,
    ModuleView,
    end_doubt,
    lent_doubt,
    module_view,
)

CONNECTED_TRANSPARENT = '+QSSLSTATE: 4,"SSLClient","1.2.3.4",443,65344,2,1,4,2,"usbmodem",1'
CONNECTED_BUFFER = '+QSSLSTATE: 4,"SSLClient","1.2.3.4",443,65344,2,1,4,0,"usbmodem",1'
CLOSING_TRANSPARENT = '+QSSLSTATE: 4,"SSLClient","1.2.3.4",443,65344,4,1,4,2,"usbmodem",1'


@pytest.mark.parametrize(("ok", "lines", "view"), [
    (True, [CONNECTED_TRANSPARENT], ModuleView.IN_DATA_MODE),
    (True, [CONNECTED_BUFFER], ModuleView.CONNECTED),
    (True, [CLOSING_TRANSPARENT], ModuleView.CLOSING),
    (True, [], ModuleView.NOT_LISTED),
    (True, ["garbage"], ModuleView.UNKNOWN),
    (True, [CONNECTED_BUFFER.replace("4,", "5,", 1)], ModuleView.UNKNOWN),
    (False, [], ModuleView.UNKNOWN),
])
def test_module_view(ok: bool, lines: list[str], view: ModuleView) -> None:
    assert module_view(ok, lines, 4) is view


def test_a_proven_end() -> None:
    for marker in EndMarker:
        assert end_doubt(marker, ModuleView.CLOSING, []) is None
    assert end_doubt(EndMarker.ESCAPED, ModuleView.CONNECTED, []) is None
    assert lent_doubt(EndMarker.NO_CARRIER, ModuleView.NOT_LISTED) is None
    assert lent_doubt(EndMarker.ESCAPED, ModuleView.CONNECTED) is None


def test_no_carrier_while_the_socket_stays_connected_is_never_a_clean_end() -> None:
    # A firmware answering +++ with NO CARRIER, or a server's bytes: not the remote's close.
    doubt = end_doubt(EndMarker.NO_CARRIER, ModuleView.CONNECTED, [])
    assert doubt is not None and "connected" in doubt


def test_a_marker_while_the_module_still_holds_data_mode_is_a_servers() -> None:
    doubt = end_doubt(EndMarker.NO_CARRIER, ModuleView.IN_DATA_MODE, [])
    assert doubt is not None and "data mode" in doubt


def test_an_unreadable_state_is_a_doubt_unless_we_closed_the_socket() -> None:
    assert end_doubt(EndMarker.NO_CARRIER, ModuleView.UNKNOWN, []) is not None
    assert end_doubt(EndMarker.ESCAPED, None, []) is not None
    assert end_doubt(EndMarker.CLOSED, ModuleView.UNKNOWN, []) is None


def test_an_early_ok_or_anything_but_a_known_urc_after_the_marker_is_a_doubt() -> None:
    assert end_doubt(EndMarker.ESCAPED, ModuleView.CLOSING, [], early=True) is not None
    doubt = end_doubt(EndMarker.NO_CARRIER, ModuleView.CLOSING, [ev.NoCarrier()])
    assert doubt is not None and "NoCarrier" in doubt


def test_an_escape_needs_the_lent_channel_to_list_the_socket() -> None:
    # A second OK (a server's) taken for the answer lists nothing.
    assert lent_doubt(EndMarker.ESCAPED, ModuleView.NOT_LISTED) is not None
    assert lent_doubt(EndMarker.NO_CARRIER, None) is not None
    assert lent_doubt(EndMarker.CLOSED, ModuleView.IN_DATA_MODE) is not None
