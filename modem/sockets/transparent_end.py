"""When the end of a transparent-mode session counts as proven (manual 1.3, 2.1.6).

The module ends data mode with ``\\r\\nNO CARRIER\\r\\n`` (the connection is
gone) or, after the host's ``+++``, ``\\r\\nOK\\r\\n`` (the socket goes on in
buffer mode).  Quectel's marker is plain text in the data stream (Cinterion,
by contrast, starts its transparent-mode ``NO CARRIER`` with DLE EOT so
that it cannot be data): a server that sends those bytes makes data look
like the end.  So an end marker is believed only when:

1. the socket's own command channel (a line no server's byte reaches)
   shows the module no longer holds it in data mode (``AT+QSSLSTATE=<id>``:
   not connected in access mode 2), and after ``NO CARRIER`` no longer
   connected at all; an escape's ``OK`` must also come no sooner than the
   guard time after the ``+++``;
2. the lent channel then answers ``AT+QSSLSTATE=<id>`` in step, with nothing
   between the marker and that answer but known URCs: a marker forged by a server
   just before the real end would leave the module's own marker (or the
   server's further bytes) in between.  For an escape the answer must list
   the socket (a second ``OK`` taken for the answer lists nothing).

URCs that came between are routed only once both hold.  This module is the
rule as pure functions; ``transparent_session`` runs the two checks.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

from modem.core import commands
from modem.core import events as ev

__all__ = ["EndMarker", "ModuleView", "end_doubt", "lent_doubt", "module_view"]

_TRANSPARENT = 2  # <access_mode> 2 (manual 2.1.6)


class EndMarker(enum.Enum):
    """How the lent channel said data mode ended."""

    NO_CARRIER = "NO CARRIER"
    """The module ended it: the peer closed, or the connection broke."""
    ESCAPED = "OK"
    """Our ``+++`` was answered: the socket goes on in buffer mode."""
    CLOSED = "closed"
    """``NO CARRIER`` after we closed the socket ourselves: only the channel's
    state matters, not the stream's."""


class ModuleView(enum.Enum):
    """What ``AT+QSSLSTATE=<id>`` says of the socket's data mode."""

    IN_DATA_MODE = "connected in transparent mode"
    CONNECTED = "connected, out of transparent mode"
    CLOSING = "listed, no longer connected"
    NOT_LISTED = "not listed"
    UNKNOWN = "no readable answer"


def module_view(ok: bool, lines: Sequence[str], client_id: int) -> ModuleView:
    """The view from one ``AT+QSSLSTATE=<id>`` answer (``ok``: it ended in ``OK``)."""
    if not ok:
        return ModuleView.UNKNOWN
    for line in lines:
        try:
            state = commands.parse_qsslstate(line)
        except ValueError:
            continue
        if state.client_id == client_id:
            if state.state is not commands.SocketState.CONNECTED:
                return ModuleView.CLOSING
            in_data_mode = state.access_mode == _TRANSPARENT
            return ModuleView.IN_DATA_MODE if in_data_mode else ModuleView.CONNECTED
    return ModuleView.UNKNOWN if lines else ModuleView.NOT_LISTED


def end_doubt(marker: EndMarker, own_channel: ModuleView | None, strays: Sequence[ev.Event],
              early: bool = False) -> str | None:
    """Why the end cannot be shown clean by check 1 (see the module docstring),
    or None.  ``own_channel``: the view from the socket's command channel;
    ``strays``: events on the lent channel after the marker other than known
    URCs (an unknown line is a server's bytes until shown otherwise);
    ``early``: an escape's ``OK`` came sooner than the guard time."""
    if early:
        return "the escape's OK came before the guard time: a server's bytes"
    if own_channel is ModuleView.IN_DATA_MODE:
        return f"{marker.value} came while the module still holds the socket in data mode"
    if own_channel in (ModuleView.UNKNOWN, None) and marker is not EndMarker.CLOSED:
        return "the socket's state could not be read after the end"
    if own_channel is ModuleView.CONNECTED and marker is EndMarker.NO_CARRIER:
        # A server's bytes, or a firmware that answers +++ with NO CARRIER (a
        # SIMCom module on a CMUX DLC did, espressif/esp-protocols#692): the
        # connection goes on, so the end of stream cannot be the remote's.
        return "NO CARRIER while the module still holds the socket connected"
    if strays:
        return (f"{type(strays[0]).__name__} on the lent channel after {marker.value}: "
                "the marker was a server's bytes")
    return None


def lent_doubt(marker: EndMarker, lent_channel: ModuleView | None) -> str | None:
    """Why check 2 fails, or None: ``lent_channel`` is the lent channel's view
    (None: it gave no answer)."""
    wanted = {ModuleView.CONNECTED, ModuleView.CLOSING}
    if marker is not EndMarker.ESCAPED:
        wanted.add(ModuleView.NOT_LISTED)
    if lent_channel not in wanted:
        view = "no answer" if lent_channel is None else lent_channel.value
        return f"the lent channel's answer after {marker.value}: {view}"
    return None
