"""``PushSwitching``: the direct-push half of ``SslSocket`` (manual 1.3).

A push-mode socket takes the module's pushed data (``deliver_push``, from
the reader task), asks for buffer mode (``AT+QISWTMD=<id>,0``) while its
reader lags and returns to push (``AT+QISWTMD=<id>,1``) once it caught up.
The contract and the memory bound are ``modem.core.push_flow``'s.  ``SslSocket``
owns the state these methods use; they live here to keep each file small.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from modem.core import commands
from modem.core.at_command import Command
from modem.core.errors import ModemError, PushOverrun
from modem.core.push_flow import AccessMode, PushInbox, PushState
from modem.link.channel import Response

log = logging.getLogger("modem.socket")


class PushSwitching:
    """Push-mode delivery and mode switches; mixed into ``SslSocket``."""

    client_id: int
    push: PushInbox | None
    _start_task: Callable[[Callable[[], Awaitable[None]]], None] | None
    _push_gone_at: int | None
    _push_gone_checks: int
    _closed: bool
    _failure: ModemError | None
    _more: bool
    _peer_closed: bool
    _quiet_polls: int

    def _wake(self) -> None:
        raise NotImplementedError

    def fail(self, failure: ModemError) -> None:
        raise NotImplementedError

    async def _run(self, command: Command, payload: bytes | None = None) -> Response:
        raise NotImplementedError

    def deliver_push(self, data: bytes) -> bool:
        """``+QSSLURC: "recv",<id>,<len>`` and its data (the reader task).

        False when the socket takes no pushes (buffer mode, or closed).  A
        backlog over the limit asks for buffer mode; one over the hard limit
        fails the socket (``PushOverrun``)."""
        inbox = self.push
        if inbox is None or self._closed:
            return False
        self._push_gone_at, self._push_gone_checks = None, 0  # a "not connected" was early
        if self._failure is None and not inbox.add(data):
            inbox.clear()
            self.fail(PushOverrun(self.client_id, inbox.hard_limit))
        elif inbox.should_switch_to_buffer() and self._start_task is not None:
            inbox.state = PushState.TO_BUFFER
            self._start_task(self._switch_to_buffer)
        self._wake()
        return True

    async def _switch_to_buffer(self) -> None:
        """``AT+QISWTMD=<id>,0`` for a lagging reader (a task of the ``Modem``);
        pushes on their way still come, ahead of what the module buffers."""
        inbox = self.push
        assert inbox is not None
        if self._closed:  # its ID may be someone else's soon
            return
        try:
            resp = await self._run(commands.qiswtmd(self.client_id, AccessMode.BUFFER.code))
        except ModemError:
            return  # the socket failed; its reader hears it
        if resp.ok:
            inbox.state = PushState.BUFFER
            inbox.switches += 1
            inbox.read_in_buffer_mode = 0
            log.debug("socket %d: buffer mode, reader %d bytes behind", self.client_id, len(inbox))
            self._more = True
        else:
            inbox.state = PushState.PUSH
            if not self._peer_closed and not self._closed:
                inbox.switch_refused = True
                log.warning("socket %d: AT+QISWTMD=%d,0 refused: push mode without "
                            "backpressure", self.client_id, self.client_id)
        self._wake()

    async def stay_in_buffer_mode(self) -> None:
        """``AT+QISWTMD=<id>,0`` for good: the open's URC never reached this
        port, so neither would pushed data (manual 1.3: pushes go out as URCs)."""
        inbox = self.push
        assert inbox is not None
        resp = await self._run(commands.qiswtmd(self.client_id, AccessMode.BUFFER.code))
        inbox.switch_refused = True
        if resp.ok:
            inbox.state = PushState.BUFFER
            self._more = True
        log.warning("socket %d: URCs do not reach this port; %s", self.client_id, "buffer mode"
                    if resp.ok else "AT+QISWTMD refused: its pushes may never arrive")

    async def _switch_to_push(self) -> None:
        """``AT+QISWTMD=<id>,1`` once the reader caught up (the reader's task)."""
        inbox = self.push
        assert inbox is not None
        inbox.state = PushState.TO_PUSH
        resp = await self._run(commands.qiswtmd(self.client_id, AccessMode.PUSH.code))
        if resp.ok:
            inbox.state = PushState.PUSH
            inbox.returns += 1
            log.debug("socket %d: push mode again", self.client_id)
            self._quiet_polls = 0
        else:
            inbox.state = PushState.BUFFER
            if not self._peer_closed:
                inbox.switch_refused = True
                log.warning("socket %d: AT+QISWTMD=%d,1 refused: staying in buffer mode",
                            self.client_id, self.client_id)
