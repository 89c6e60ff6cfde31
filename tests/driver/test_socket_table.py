"""The socket table's bookkeeping: URCs to their opens and sockets, IDs back to the pool.

A socket gets its URCs only from the ``+QSSLOPEN: <id>,0`` that opened it:
whatever comes for its ID before (a closed socket's late pushes, a late
"closed") is dropped and counted, never delivered.
"""

from __future__ import annotations

import trio
import trio.testing

from modem.core import events as ev
from modem.core.errors import ModuleLost, PdpContextBrokeDown
from modem.core.push_flow import AccessMode
from modem.core.stream_errors import LineSyncLost, PushDataLost
from modem.link.channel import AtChannel
from modem.link.response_errors import error_of
from modem.sockets.socket_table import SocketTable
from modem.sockets.ssl_socket import SslSocket
from tests.helpers import take_id


def table_and_socket(client_id: int = 3, mode: AccessMode = AccessMode.BUFFER
                     ) -> tuple[SocketTable, AtChannel, SslSocket]:
    host, _module_side = trio.testing.memory_stream_pair()
    channel = AtChannel(host, lambda urc: None)
    table = SocketTable()
    take_id(table.client_ids, client_id)  # the caller acquires the ID before the open
    sock = SslSocket(channel, client_id, "a.test", 443, error_of=error_of,
                     on_close=lambda s, confirmed: table.socket_closed(s, confirmed, channel),
                     access_mode=mode, start_task=lambda task: None)
    return table, channel, sock


async def test_the_open_urc_ends_the_wait_with_its_outcome():
    table, _, sock = table_and_socket()
    waiter = table.begin_open(sock)
    assert table.sockets == {}  # nothing reaches it before its +QSSLOPEN
    assert table.route(ev.SslOpened(client_id=3, err=0))
    assert waiter.done.is_set() and waiter.err == 0 and not waiter.by_poll
    assert table.sockets == {3: sock}
    table.end_open(waiter, connected=True)
    assert table.sockets == {3: sock}


async def test_a_close_before_the_open_urc_is_an_earlier_sockets_and_is_dropped():
    table, _, sock = table_and_socket()
    waiter = table.begin_open(sock)
    assert table.route(ev.SslClosed(client_id=3))
    assert not waiter.done.is_set()
    assert not sock.peer_closed
    assert table.integrity.stale_notices == 1
    table.end_open(waiter, connected=False)
    assert table.sockets == {}


async def test_pushes_before_the_open_urc_are_dropped_and_leave_the_open_unverified():
    table, _, sock = table_and_socket(mode=AccessMode.PUSH)
    waiter = table.begin_open(sock)
    assert table.route(ev.SslPushData(client_id=3, data=b"the last connection's"))
    assert len(sock.push or ()) == 0
    assert waiter.unverified
    assert (table.integrity.stale_pushes, table.integrity.stale_push_bytes) == (1, 21)
    table.route(ev.SslOpened(client_id=3, err=0))
    assert table.route(ev.SslPushData(client_id=3, data=b"mine"))
    assert sock.push is not None and sock.push.take(100) == b"mine"


async def test_a_closed_ids_late_push_reaches_nobody():
    table, channel, sock = table_and_socket(mode=AccessMode.PUSH)
    waiter = table.begin_open(sock)
    table.route(ev.SslOpened(client_id=3, err=0))
    table.end_open(waiter, connected=True)
    table.socket_closed(sock, True, channel)
    assert table.route(ev.SslPushData(client_id=3, data=b"late"))
    assert table.integrity.stale_pushes == 1
    assert table.sockets == {}


async def test_a_broken_frame_fails_its_socket_and_a_lost_line_every_push_socket():
    table, _, sock = table_and_socket(mode=AccessMode.PUSH)
    waiter = table.begin_open(sock)
    table.route(ev.SslOpened(client_id=3, err=0))
    table.end_open(waiter, connected=True)
    table.route(ev.PushFrameBroken(client_id=3, reason="1 byte lost"))
    assert isinstance(sock.failure, PushDataLost)
    other_table, _, other = table_and_socket(client_id=5, mode=AccessMode.PUSH)
    _, _, pending = table_and_socket(client_id=6, mode=AccessMode.PUSH)
    opened = other_table.begin_open(other)
    other_table.route(ev.SslOpened(client_id=5, err=0))
    other_table.end_open(opened, connected=True)
    opening = other_table.begin_open(pending)
    other_table.route(ev.LineLost(reason="a garbled push header"))
    assert isinstance(other.failure, LineSyncLost)
    assert opening.unverified and other_table.integrity.line_losses == 1


async def test_urcs_for_other_ids_and_other_kinds_are_not_the_tables():
    table, _, sock = table_and_socket()
    table.begin_open(sock)
    assert table.route(ev.SslRecv(client_id=7))  # a socket URC, for nobody: dropped
    assert not table.route(ev.PdpDeactivated(context_id=1))
    assert not table.route(ev.UnknownUrc(text="+QIURC: \"dnsgip\""))


async def test_fail_all_fails_sockets_and_ends_opens_with_the_given_outcome():
    table, _, sock = table_and_socket()
    waiter = table.begin_open(sock)
    failure = PdpContextBrokeDown(command="PDP context 1")
    table.fail_all(failure, open_err=failure.code)
    assert waiter.done.is_set() and waiter.err == PdpContextBrokeDown.code
    assert sock.failure is failure


async def test_fail_all_without_an_outcome_leaves_the_open_undecided():
    table, _, sock = table_and_socket()
    waiter = table.begin_open(sock)
    table.fail_all(ModuleLost("gone"))
    assert waiter.done.is_set() and waiter.err is None


async def test_an_unconfirmed_close_keeps_the_id_out_of_the_pool_until_release():
    table, channel, sock = table_and_socket()
    waiter = table.begin_open(sock)
    table.route(ev.SslOpened(client_id=3, err=0))
    table.end_open(waiter, connected=True)
    table.socket_closed(sock, False, channel)
    assert 3 in table.client_ids.in_use
    assert table.sockets == {}
    table.release_unconfirmed()
    assert 3 not in table.client_ids.in_use


async def test_a_close_after_the_module_was_lost_frees_the_id_at_once():
    table, channel, sock = table_and_socket()
    waiter = table.begin_open(sock)
    table.route(ev.SslOpened(client_id=3, err=0))
    table.end_open(waiter, connected=True)
    channel.fail(ModuleLost("gone"))
    table.socket_closed(sock, False, channel)
    assert 3 not in table.client_ids.in_use
