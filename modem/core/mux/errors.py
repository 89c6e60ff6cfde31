"""Errors of the 07.10 multiplexer: each says what failed and what to do.

The sans-I/O connection raises only ``MuxUsageError`` (our own code asked
for something the state does not allow); the module's bad frames are
counted, never raised.  The Trio layer raises the rest.
"""

from __future__ import annotations

from modem.core.errors import LocalMistake, ModemError, ModuleLost
from modem.core.stream_errors import StreamHole

__all__ = [
    "DlcClosedError", "DlcOverrun", "DlcRefused", "DlcUnanswered", "MuxError", "MuxLost",
    "MuxStartFailed", "MuxStartRefused", "MuxUsageError",
]


class MuxError(ModemError):
    """Base of the multiplexer's errors."""


class MuxUsageError(MuxError, LocalMistake):
    """The host asked the multiplexer for something its state does not allow
    (data on a DLC that is not open, a DLCI out of range)."""


class MuxStartFailed(MuxError, ModuleLost):
    """The module did not answer the SABM on DLC 0 after ``AT+CMUX``: it went
    silent (a module lost, tried again), unlike ``MuxStartRefused``."""

    hint = ("reset the module; some firmware hangs when the first frame follows the OK of "
            "AT+CMUX within 100 ms (zephyr#63410), so wait longer before it")


class MuxStartRefused(MuxError, LocalMistake):
    """The module answered DM to the SABM on DLC 0: it has no multiplexer to give."""

    hint = "the module cannot multiplex this port: use --channels single"


class DlcRefused(MuxError, LocalMistake):
    """The module answered DM to the SABM of a DLC."""

    hint = "open only the DLCs the module offers (Quectel: 1-4)"


class DlcUnanswered(MuxError, ModuleLost):
    """The module answered nothing to the SABM of a DLC: it went silent."""


class DlcClosedError(MuxError):
    """The DLC was closed (by us, by the module, or with the whole multiplexer)."""


class DlcOverrun(MuxError):
    """The module sent more on a DLC than its receive bound after we asked it to
    stop (MSC with FC): the stream cannot go on without losing data."""

    hint = "read the DLC faster, or raise its receive limit"


class RawFramesLost(MuxError, StreamHole):
    """A frame from the module was dropped (bad FCS, broken framing, a lost
    flag) while this DLC carried raw bytes (transparent mode): they have no
    framing of their own, so the stream may have a hole and cannot go on."""

    hint = ("bytes are being lost on the multiplexer's line: use hardware flow control "
            "(--rtscts) or a lower speed")


class MuxLost(MuxError, ModuleLost):
    """The line under the multiplexer ended (device gone, or the module restarted)."""
