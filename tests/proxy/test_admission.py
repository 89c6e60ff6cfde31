"""Admission: --max-connections slots, client ids, one deadline, first come first served."""

from __future__ import annotations

import pytest
import trio

from modem.client_ids import ClientIdPool
from proxy.admission import Admission, QueueTimeout


async def hold(admission: Admission, got: list[int], release: trio.Event,
               task_status=trio.TASK_STATUS_IGNORED) -> None:
    async with admission.ticket() as ticket:
        cid = await ticket.client_id()
        got.append(cid)
        task_status.started()
        await release.wait()
        admission.pool.release(cid)


async def test_waiters_are_served_in_order(autojump_clock):
    pool = ClientIdPool(2)
    admission = Admission(pool, max_connections=12, queue_timeout=30)
    got: list[int] = []
    releases = [trio.Event() for _ in range(4)]
    async with trio.open_nursery() as nursery:
        await nursery.start(hold, admission, got, releases[0])
        await nursery.start(hold, admission, got, releases[1])
        assert got == [0, 1]
        nursery.start_soon(hold, admission, got, releases[2])
        await trio.sleep(1)
        nursery.start_soon(hold, admission, got, releases[3])
        await trio.sleep(1)
        releases[1].set()
        await trio.sleep(1)
        assert got == [0, 1, 1]  # the earlier waiter got the freed id
        releases[0].set()
        await trio.sleep(1)
        assert got == [0, 1, 1, 0]
        releases[2].set()
        releases[3].set()


async def test_queue_timeout_names_the_client_id_limit(autojump_clock):
    pool = ClientIdPool(1)
    admission = Admission(pool, max_connections=12, queue_timeout=30)
    release = trio.Event()
    async with trio.open_nursery() as nursery:
        await nursery.start(hold, admission, [], release)
        start = trio.current_time()
        with pytest.raises(QueueTimeout, match="all 1 client ids busy"):
            async with admission.ticket() as ticket:
                await ticket.client_id()
        assert trio.current_time() - start == pytest.approx(30)
        assert admission.busy == 1
        release.set()


async def test_queue_timeout_names_max_connections(autojump_clock):
    admission = Admission(ClientIdPool(), max_connections=2, queue_timeout=5)
    release = trio.Event()
    async with trio.open_nursery() as nursery:
        await nursery.start(hold, admission, [], release)
        await nursery.start(hold, admission, [], release)
        with pytest.raises(QueueTimeout, match="--max-connections 2 reached"):
            async with admission.ticket():
                pass
        release.set()


async def test_deadline_counts_from_arrival(autojump_clock):
    admission = Admission(ClientIdPool(1), max_connections=12, queue_timeout=10)
    release = trio.Event()
    async with trio.open_nursery() as nursery:
        await nursery.start(hold, admission, [], release)
        arrived = trio.current_time()
        await trio.sleep(8)
        with pytest.raises(QueueTimeout):
            async with admission.ticket(arrived) as ticket:
                await ticket.client_id()
        assert trio.current_time() - arrived == pytest.approx(10)
        release.set()


async def test_zero_timeout_still_admits_when_free():
    admission = Admission(ClientIdPool(1), max_connections=1, queue_timeout=0)
    async with admission.ticket() as ticket:
        assert await ticket.client_id() == 0
        with pytest.raises(QueueTimeout):
            async with admission.ticket():
                pass
    assert admission.busy == 0
