"""An SslSocket's life (``SocketPhase``), its one-task guards and its poll gaps."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from modem.core.errors import ModuleLost, PdpContextBrokeDown
from modem.core.push_flow import AccessMode
from modem.core.urc_watch import UrcHealth, UrcPolling
from modem.link.channel import AtChannel
from modem.link.response_errors import error_of
from modem.sockets.read_schedule import (
    OWN_QUIET_CHECKS,
    PUSH_CLOSED_CHECKS,
    PushEnd,
    ReadSchedule,
)
from modem.sockets.socket_life import SocketLife, SocketPhase
from modem.sockets.ssl_socket import SslSocket


def socket_on_dead_line(**options) -> tuple[SslSocket, list[bool]]:
    """A socket whose channel is already broken: closes end at once, unconfirmed."""
    host, _module_side = trio.testing.memory_stream_pair()
    channel = AtChannel(host, lambda urc: None)
    channel.fail(ModuleLost("no module in this test"))
    confirmations: list[bool] = []
    sock = SslSocket(channel, 5, "a.test", 443, error_of=error_of,
                     on_close=lambda s, confirmed: confirmations.append(confirmed),
                     **options)
    return sock, confirmations


async def test_a_peer_close_then_a_failure_then_the_close():
    sock, confirmations = socket_on_dead_line()
    assert sock.phase is SocketPhase.OPEN and not sock.peer_closed
    sock.notify_closed()
    assert sock.phase is SocketPhase.PEER_CLOSED and sock.peer_closed and not sock.id_lost
    failure = PdpContextBrokeDown(command="PDP context 1")
    sock.fail(failure)
    sock.notify_closed()  # too late: a failed socket stays failed
    assert sock.phase is SocketPhase.FAILED and sock.failure is failure
    with pytest.raises(PdpContextBrokeDown):
        await sock.receive_some()
    await sock.aclose()
    assert sock.phase is SocketPhase.CLOSED and confirmations == [False]
    assert sock.failure is failure  # kept for whoever asks why
    with pytest.raises(trio.ClosedResourceError):
        await sock.send_all(b"x")
    await sock.aclose()  # a second close does nothing
    assert confirmations == [False]


def test_a_lost_id_is_only_a_socket_that_never_heard_closed():
    life = SocketLife()
    life.lose_id()
    assert life.phase is SocketPhase.ID_LOST and life.peer_closed
    life.end_by_peer()
    assert life.phase is SocketPhase.ID_LOST
    heard = SocketLife()
    heard.end_by_peer()
    heard.lose_id()
    assert heard.phase is SocketPhase.PEER_CLOSED


def test_the_first_failure_is_kept_also_after_the_close():
    life = SocketLife()
    life.close()
    first, second = ModuleLost("first"), ModuleLost("second")
    life.fail(first)
    life.fail(second)
    assert life.phase is SocketPhase.CLOSED and life.failure is first
    with pytest.raises(trio.ClosedResourceError):
        life.check_usable()


async def test_a_closed_push_socket_takes_no_pushes():
    started: list[object] = []
    sock, _ = socket_on_dead_line(access_mode=AccessMode.PUSH, start_task=started.append)
    assert sock.deliver_push(b"data")
    assert sock.push is not None and len(sock.push) == 4
    await sock.aclose()
    assert not sock.deliver_push(b"more")
    assert len(sock.push) == 0 and started == []


async def test_one_reader_and_one_sender_at_a_time():
    host, _module_side = trio.testing.memory_stream_pair()  # a module that never answers
    channel = AtChannel(host, lambda urc: None)
    sock = SslSocket(channel, 0, "a.test", 443, error_of=error_of,
                     on_close=lambda s, confirmed: None)

    async def until_the_line_breaks(operation, *args):
        with pytest.raises(ModuleLost):
            await operation(*args)

    sock.notify_recv()  # the reader's AT+QSSLRECV goes out and waits for its answer
    async with trio.open_nursery() as nursery:
        nursery.start_soon(until_the_line_breaks, sock.receive_some)
        nursery.start_soon(until_the_line_breaks, sock.send_all, b"hello")
        await trio.testing.wait_all_tasks_blocked()
        with pytest.raises(trio.BusyResourceError, match="receiving on this socket"):
            await sock.receive_some()
        with pytest.raises(trio.BusyResourceError, match="receiving on this socket"):
            await sock.drain_for_close()
        with pytest.raises(trio.BusyResourceError, match="sending on this socket"):
            await sock.send_all(b"more")
        channel.fail(ModuleLost("end of the test"))
    assert isinstance(sock.failure, ModuleLost)


def test_the_poll_gap_doubles_per_quiet_gap_and_starts_over_on_data():
    polling = UrcPolling(read_poll_first=0.5, read_poll_max=3.0, state_check_every=2)
    schedule = ReadSchedule(UrcHealth(polling))
    gaps, checks = [], []
    for _ in range(5):
        gaps.append(schedule.gap())
        schedule.note_quiet()
        checks.append(schedule.state_check_due)
    assert gaps == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert checks == [False, True, False, True, False]
    schedule.after_read(10, 1500, by_urc=False)
    assert schedule.gap() == 0.5


def test_a_push_socket_is_gone_only_after_checks_with_a_quiet_line_between():
    schedule = ReadSchedule(UrcHealth())
    first = [schedule.push_not_connected(pushes=7, own=1) for _ in range(PUSH_CLOSED_CHECKS - 1)]
    assert first == [PushEnd.WAIT] * (PUSH_CLOSED_CHECKS - 1)
    assert schedule.push_not_connected(pushes=8, own=2) is PushEnd.WAIT  # ours went by
    schedule.push_alive()
    results = [schedule.push_not_connected(pushes=8, own=2) for _ in range(PUSH_CLOSED_CHECKS)]
    assert results == [PushEnd.WAIT] * (PUSH_CLOSED_CHECKS - 1) + [PushEnd.SHOWN]


def test_on_a_line_that_never_goes_quiet_its_own_quiet_calls_for_another_proof():
    schedule = ReadSchedule(UrcHealth())
    found = [schedule.push_not_connected(pushes=10 * n, own=3) for n in range(OWN_QUIET_CHECKS)]
    assert found == [PushEnd.WAIT] * (OWN_QUIET_CHECKS - 1) + [PushEnd.UNSHOWN]
    schedule.push_alive()  # a push of its own: start over
    assert schedule.push_not_connected(pushes=100, own=4) is PushEnd.WAIT
