"""The socket table's bookkeeping: URCs to their opens and sockets, IDs back to the pool."""

from __future__ import annotations

import trio
import trio.testing

from modem.core import events as ev
from modem.core.errors import ModuleLost, PdpContextBrokeDown, SocketClosed
from modem.link.channel import AtChannel
from modem.link.response_errors import error_of
from modem.sockets.socket_table import OpenEnd, SocketTable
from modem.sockets.ssl_socket import SslSocket


def table_and_socket(client_id: int = 3) -> tuple[SocketTable, AtChannel, SslSocket]:
    host, _module_side = trio.testing.memory_stream_pair()
    channel = AtChannel(host, lambda urc: None)
    table = SocketTable()
    ids = [table.client_ids.acquire_nowait() for _ in range(client_id + 1)]
    assert ids[-1] == client_id  # the caller acquires the ID before the open
    sock = SslSocket(channel, client_id, "a.test", 443, error_of=error_of,
                     on_close=lambda s, confirmed: table.socket_closed(s, confirmed, channel))
    return table, channel, sock


async def test_the_open_urc_ends_the_wait_with_its_outcome():
    table, _, sock = table_and_socket()
    waiter = table.begin_open(sock)
    assert table.route(ev.SslOpened(client_id=3, err=0))
    assert waiter.done.is_set() and waiter.err == 0
    table.end_open(sock, OpenEnd.CONNECTED)
    assert table.sockets == {3: sock}


async def test_a_close_before_the_open_urc_fails_the_open_as_closed():
    table, _, sock = table_and_socket()
    waiter = table.begin_open(sock)
    assert table.route(ev.SslClosed(client_id=3))
    assert waiter.done.is_set() and waiter.err == SocketClosed.code
    table.end_open(sock, OpenEnd.FAILED)
    assert table.sockets == {}


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
    table.begin_open(sock)
    table.end_open(sock, OpenEnd.CONNECTED)
    table.socket_closed(sock, False, channel)
    assert 3 in table.client_ids.in_use
    assert table.sockets == {}
    table.release_unconfirmed()
    assert 3 not in table.client_ids.in_use


async def test_a_close_after_the_module_was_lost_frees_the_id_at_once():
    table, channel, sock = table_and_socket()
    table.begin_open(sock)
    table.end_open(sock, OpenEnd.CONNECTED)
    channel.fail(ModuleLost("gone"))
    table.socket_closed(sock, False, channel)
    assert 3 not in table.client_ids.in_use
