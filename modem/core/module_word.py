"""What the module reported about itself, which wins over what the driver asked for.

Two beliefs of one ``Modem`` (so per module, across its lives: both are the
firmware's and its wiring's, which a restart does not change):

* **push support** (``PushSupport``): ``AT+QSSLOPEN=...,1`` (direct push,
  manual 1.3, 2.1.2) may be answered ``OK`` while the socket stays in
  buffer mode, or refused (``ERROR`` / ``+CME ERROR``) where mode 0 is
  taken.  The first push-mode open of each module life asks
  ``AT+QSSLSTATE=<id>`` once (its ``<access_mode>``, manual 2.1.6) unless a
  push frame for it came first, which proves push mode; a socket found in
  buffer mode is read in buffer mode.  Either refusal is learned: later
  sockets open in buffer mode (``push_refused``) and no more checks are
  made.  Checking once per life, not once per module, catches a firmware
  update (it restarts the module) at the price of one round trip per life.
* **the URC port**: bring-up's ``urcport`` value is the host's guess from
  the device (USB interface 2 or 3, a UART; none for a pty or an adapter
  on the module's UART).  ``AT+QSSLSTATE``'s ``<AT_port>`` names the port a
  socket was opened from (manual 2.1.6; public logs show ``"usbat"`` on USB
  and ``"uart1"`` on the UART).  An open resolved by polling (its
  ``+QSSLOPEN`` went elsewhere) already holds that answer: the port it
  names is where URCs are routed from then on, also at later bring-ups
  (``urc_port``), the host's guess kept only as the first guess.

Sans-I/O: the open sequence asks and routes (``modem.sockets.open_sequence``);
this keeps what was learned and logs each lesson once.
"""

from __future__ import annotations

import enum
import logging

from modem.core.commands import URC_PORTS
from modem.core.log_fields import kv

__all__ = ["PushSupport", "ModuleWord"]

log = logging.getLogger("modem.driver")


class PushSupport(enum.Enum):
    """What the module did with a socket opened in direct push mode."""

    UNKNOWN = "unknown"
    """No push-mode open was checked yet (or the check got no answer)."""
    HONOURED = "honoured"
    """``AT+QSSLSTATE`` (or a push frame) showed a push-mode open in push mode."""
    KEPT_BUFFER = "kept buffer"
    """``AT+QSSLOPEN=...,1`` answered ``OK``, and the socket was in buffer mode."""
    REFUSED_AT_OPEN = "refused at open"
    """``AT+QSSLOPEN=...,1`` was refused where ``...,0`` was taken."""

    @property
    def refused(self) -> bool:
        return self in (PushSupport.KEPT_BUFFER, PushSupport.REFUSED_AT_OPEN)


class ModuleWord:
    """The module's own reports about push mode and its AT port; see the module
    docstring.  ``port_guess`` is the host's ``urcport`` value (None: it could
    not tell)."""

    def __init__(self, port_guess: str | None = None) -> None:
        self.push = PushSupport.UNKNOWN
        self.port_guess = port_guess
        self.port_reported: str | None = None
        """The ``<AT_port>`` of the last state answer that named one."""
        self.port_learned: str | None = None
        """The port URCs were routed to because the module named it."""
        self._port_tried: str | None = None
        self._checked_life: object | None = None

    # -- push mode ---------------------------------------------------------------

    @property
    def push_refused(self) -> bool:
        """Sockets open in buffer mode: the module refused push mode either way."""
        return self.push.refused

    def push_check_due(self, life: object) -> bool:
        """Ask ``AT+QSSLSTATE`` after a push-mode open: the first of ``life``
        (a token of the module life: its channel), while push is not refused."""
        return not self.push.refused and life is not self._checked_life

    def note_push_mode(self, life: object, mode_code: int | None, *, answered: bool = True
                       ) -> None:
        """A push-mode open's ``<access_mode>`` as reported in ``life`` (None: a push
        frame came first, which proves push mode).  ``answered`` False: the state
        line gave no mode; nothing is learned, and ``life`` is not asked again."""
        self._checked_life = life
        if not answered:
            return
        if mode_code is None or mode_code == 1:
            self.push = PushSupport.HONOURED
        elif mode_code == 0:
            self._learn(PushSupport.KEPT_BUFFER,
                        "AT+QSSLOPEN with access mode 1 answered OK, AT+QSSLSTATE shows mode 0")

    def note_push_refused_at_open(self, error: str) -> None:
        """``AT+QSSLOPEN=...,1`` failed with ``error`` and ``...,0`` was taken."""
        self._learn(PushSupport.REFUSED_AT_OPEN,
                    f"AT+QSSLOPEN with access mode 1 refused ({error}), mode 0 taken")

    def _learn(self, push: PushSupport, why: str) -> None:
        if self.push is push:
            return
        self.push = push
        log.info("module keeps sockets in buffer mode: later sockets open in buffer mode",
                 extra=kv(why=why))

    # -- the URC port ------------------------------------------------------------

    def note_port(self, at_port: str | None) -> str | None:
        """``<AT_port>`` of a state answer for an open whose ``+QSSLOPEN`` URC did
        not reach us: the port to route URCs to now, or None (tried already, or
        a name ``AT+QURCCFG`` does not take)."""
        if at_port is None:
            return None
        port = at_port.strip().lower()
        self.port_reported = port
        if port not in URC_PORTS or port == self._port_tried:
            return None
        return port

    def routed(self, port: str, done: bool) -> None:
        """URCs were routed to ``port`` as the module named it (``done``), or the
        module refused (firmware without ``AT+QURCCFG``): not tried again."""
        self._port_tried = port
        if done:
            self.port_learned = port

    def urc_port(self) -> str | None:
        """The port bring-up routes URCs to: the learned one, else the host's guess."""
        return self.port_learned or self.port_guess

    def report(self) -> dict[str, object]:
        """For the status page (JSON-able)."""
        return {"push": self.push.value,
                "urc_port": {"host_guess": self.port_guess, "module_says": self.port_reported,
                             "routed_to": self.urc_port()}}
