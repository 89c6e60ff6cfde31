"""``PushReceiver``: the direct-push half of an ``SslSocket`` (manual 1.3).

A push-mode socket owns one.  It takes the module's pushed data
(``deliver``, from the reader task) into a ``PushInbox``, asks for buffer
mode (``AT+QISWTMD=<id>,0``) while the socket's reader lags and returns to
push (``AT+QISWTMD=<id>,1``) once it caught up.  The contract and the memory
bound are ``modem.core.push_flow``'s.  It reaches its socket through what
it is given: the socket's ``SocketLife`` (phase, failure, wake-ups), its
``ReadSchedule`` and its ``run`` (a data command whose failure fails the
socket).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from modem.core import commands
from modem.core.at_command import Command
from modem.core.errors import ModemError, PushOverrun
from modem.core.log_fields import kv
from modem.core.push_flow import AccessMode, PushInbox, PushState
from modem.link.channel import Response
from modem.sockets.read_schedule import ReadSchedule
from modem.sockets.socket_life import SocketLife, SocketPhase

__all__ = ["PushReceiver", "StartTask"]

log = logging.getLogger("modem.socket")

StartTask = Callable[[Callable[[], Awaitable[None]]], None]
"""Starts a task in a nursery the caller owns (``Modem``'s): the switch to buffer
mode cannot wait for the reader, whose own task may be stuck writing elsewhere."""


class PushReceiver:
    """Pushed data and the access-mode switches of one socket; see the module docstring."""

    def __init__(self, client_id: int, limit: int, life: SocketLife, schedule: ReadSchedule,
                 run: Callable[[Command], Awaitable[Response]], start_task: StartTask) -> None:
        self.client_id = client_id
        self.inbox = PushInbox(limit)
        self._life = life
        self._schedule = schedule
        self._run = run
        self._start_task = start_task

    def deliver(self, data: bytes) -> bool:
        """``+QSSLURC: "recv",<id>,<len>`` and its data (the reader task).

        False once the socket is closed.  A backlog over the limit asks for
        buffer mode; one over the hard limit fails the socket (``PushOverrun``)."""
        inbox = self.inbox
        if self._life.phase is SocketPhase.CLOSED:
            return False
        self._schedule.push_alive()
        if self._life.failure is None and not inbox.add(data):
            inbox.clear()
            self._life.fail(PushOverrun(self.client_id, inbox.hard_limit))
        elif inbox.should_switch_to_buffer():
            inbox.state = PushState.TO_BUFFER
            self._start_task(self._switch_to_buffer)
        self._life.wake()
        return True

    async def _switch_to_buffer(self) -> None:
        """``AT+QISWTMD=<id>,0`` for a lagging reader (a task of the ``Modem``);
        pushes on their way still come, ahead of what the module buffers."""
        inbox = self.inbox
        if self._life.phase is SocketPhase.CLOSED:  # its ID may be someone else's soon
            return
        try:
            resp = await self._run(commands.qiswtmd(self.client_id, AccessMode.BUFFER.code))
        except ModemError:
            return  # the socket failed; its reader hears it
        if resp.ok:
            inbox.state = PushState.BUFFER
            inbox.switches += 1
            inbox.read_in_buffer_mode = 0
            log.debug("buffer mode: the reader is behind",
                      extra=kv(id=self.client_id, behind=len(inbox)))
            self._schedule.read_again = True
        else:
            inbox.state = PushState.PUSH
            # Neither the peer nor we closed it: the module means the refusal.
            if self._life.phase in (SocketPhase.OPEN, SocketPhase.FAILED):
                inbox.switch_refused = True
                log.warning("AT+QISWTMD refused: push mode without backpressure", extra=kv(
                    id=self.client_id, command=f"AT+QISWTMD={self.client_id},0"))
        self._life.wake()

    async def stay_in_buffer_mode(self) -> None:
        """``AT+QISWTMD=<id>,0`` for good: the open's URC never reached this
        port, so neither would pushed data (manual 1.3: pushes go out as URCs)."""
        inbox = self.inbox
        resp = await self._run(commands.qiswtmd(self.client_id, AccessMode.BUFFER.code))
        inbox.switch_refused = True
        if resp.ok:
            inbox.state = PushState.BUFFER
            self._schedule.read_again = True
        log.warning("URCs do not reach this port", extra=kv(
            id=self.client_id, then="buffer mode" if resp.ok
            else "AT+QISWTMD refused: its pushes may never arrive"))

    async def switch_to_push(self) -> None:
        """``AT+QISWTMD=<id>,1`` once the reader caught up (the reader's task)."""
        inbox = self.inbox
        inbox.state = PushState.TO_PUSH
        resp = await self._run(commands.qiswtmd(self.client_id, AccessMode.PUSH.code))
        if resp.ok:
            inbox.state = PushState.PUSH
            inbox.returns += 1
            log.debug("push mode again", extra=kv(id=self.client_id))
            self._schedule.restart_gaps()
        else:
            inbox.state = PushState.BUFFER
            if not self._life.peer_closed:
                inbox.switch_refused = True
                log.warning("AT+QISWTMD refused: staying in buffer mode", extra=kv(
                    id=self.client_id, command=f"AT+QISWTMD={self.client_id},1"))
