"""systemd ``Type=notify``: readiness, status, watchdog and stopping, by sd_notify's protocol.

No dependency: a notification is one datagram of ``KEY=value`` lines sent to
the ``AF_UNIX`` ``SOCK_DGRAM`` socket named by ``$NOTIFY_SOCKET`` (a path, or
``@name`` for the abstract namespace), as systemd's sd_notify(3) describes.
Without ``NOTIFY_SOCKET`` ``SystemdNotifier.from_environment`` is None and
nothing changes.

What the proxy sends:

* ``READY=1`` once every listener is bound and the modules came up, with
  ``STATUS=`` naming the state of the first one running; ``STATUS=`` again
  whenever that state changes (``systemctl status`` shows it);
* ``WATCHDOG=1`` every ``WATCHDOG_USEC / 2`` only while a driver is
  healthy: a module answers ``AT`` (``Modem.answers``).  A wedged proxy or
  modules that stop answering stop the pings, and ``WatchdogSec=`` makes
  systemd restart the service.  ``WATCHDOG_PID``, when set, must be ours;
* ``STOPPING=1`` when a graceful stop begins.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterable, Mapping

import trio

from modem.driver import Modem

log = logging.getLogger("proxy.systemd")

PROBE_BOUND = 5.0  # seconds the module may take to answer the watchdog's AT


def notify_address(value: str) -> str | None:
    """The socket address for a ``NOTIFY_SOCKET`` value (``@`` -> abstract); None if unusable."""
    if value.startswith("@"):
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    return None


def watchdog_interval(environ: Mapping[str, str]) -> float | None:
    """Seconds between pings (half of ``WATCHDOG_USEC``), or None without a watchdog."""
    pid = environ.get("WATCHDOG_PID")
    if pid is not None and pid != str(os.getpid()):
        return None
    try:
        usec = int(environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec / 2e6 if usec > 0 else None


class SystemdNotifier:
    """Sends notifications to systemd's socket at ``address``."""

    def __init__(self, address: str, watchdog: float | None = None) -> None:
        self.address = address
        self.watchdog = watchdog
        self._warned = False

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None
                         ) -> SystemdNotifier | None:
        env = os.environ if environ is None else environ
        address = notify_address(env.get("NOTIFY_SOCKET", ""))
        if address is None:
            return None
        return cls(address, watchdog_interval(env))

    def send(self, *fields: str) -> None:
        """One notification (a socket per call, as sd_notify does); a failure
        is logged once and never stops the proxy."""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.setblocking(False)
                sock.sendto("\n".join(fields).encode("utf-8"), self.address)
        except OSError as exc:
            if not self._warned:
                self._warned = True
                log.warning(f"cannot notify systemd at NOTIFY_SOCKET: {exc}")

    def stopping(self) -> None:
        self.send("STOPPING=1", "STATUS=stopping")

    async def serve(self, shown: Modem, running: Callable[[], Iterable[Modem]]) -> None:
        """``READY=1``, then ``STATUS=`` on ``shown``'s state changes (the module
        the status page's ``module`` section shows) and the watchdog's pings
        while any module of ``running()`` answers (the proxy still serves
        through it), until cancelled."""
        self.send("READY=1")
        async with trio.open_nursery() as nursery:
            if self.watchdog is not None:
                nursery.start_soon(self._keep_watchdog, shown, running, self.watchdog)
            async for state in shown.state.eventual_values():
                self.send(f"STATUS=serving; module {state.value}")

    async def _keep_watchdog(self, shown: Modem, running: Callable[[], Iterable[Modem]],
                             interval: float) -> None:
        while True:
            due = trio.current_time() + interval
            for candidate in list(running()) or [shown]:
                if await candidate.answers(min(interval, PROBE_BOUND)):
                    self.send("WATCHDOG=1")
                    break
            await trio.sleep_until(due)
