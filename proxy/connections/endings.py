"""Every way a proxied connection ends, and what its local client sees.

A clean end of stream (FIN) means exactly this: the remote closed, and every
byte it sent was delivered; or the connection was idle with nothing in
flight either way (idle reclaim, idle timeout).  Every other end is a reset
(RST, ``SO_LINGER`` 0), so a client can always tell a complete stream from a
cut one.  Each end is counted once in ``Counters.ends`` under its value;
docs/reliability.md has the table.
"""

from __future__ import annotations

import enum


class Ending(enum.StrEnum):
    """Why a connection ended; the value is the status page's key."""

    REMOTE_CLOSED = "remote_closed"            # FIN: the remote closed, all delivered
    HALF_CLOSE_DONE = "half_close_done"        # FIN: client shut down, then the remote closed
    IDLE_RECLAIM = "idle_reclaim"              # FIN: idle, its ID went to a waiter
    IDLE_TIMEOUT = "idle_timeout"              # FIN: idle past the map's idle-timeout
    CLIENT_RESET = "client_reset"              # the client reset or vanished (nobody to tell)
    HALF_CLOSE_TIMEOUT = "half_close_timeout"  # RST: the remote stayed open past the limit
    HALF_CLOSE_RECLAIM = "half_close_reclaim"  # RST: same, sooner, its ID went to a waiter
    SHUTDOWN_CUT = "shutdown_cut"              # RST: grace period over (or queued at shutdown)
    SEND_STALLED = "send_stalled"              # RST: the module's send buffer stayed full
    MODULE_FAILED = "module_failed"            # RST: module lost/restarted, PDP down, ...
    ID_LOST = "id_lost"                        # RST: the module no longer lists the socket
    OPEN_FAILED = "open_failed"                # RST: AT+QSSLOPEN failed
    QUEUE_TIMEOUT = "queue_timeout"            # RST: no module socket within --queue-timeout
    QUEUE_FULL = "queue_full"                  # RST: --queue-max connections already waiting
    INTERNAL_ERROR = "internal_error"          # RST: a bug (logged with its traceback)

    @property
    def resets(self) -> bool:
        """True when the client is reset (RST) rather than closed cleanly (FIN)."""
        return self not in _CLEAN


_CLEAN = frozenset({Ending.REMOTE_CLOSED, Ending.HALF_CLOSE_DONE, Ending.IDLE_RECLAIM,
                    Ending.IDLE_TIMEOUT})
