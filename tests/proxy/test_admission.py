"""Admission: slots, client ids, one deadline, first come first served; the queue bound,
per-map limits, and the board that pairs waiters with idle connections.

Admission places through a ``Placer`` (the ``ModemPool`` in the proxy); here
one module's ``ClientIdPool`` stands behind it, the placement being the ID."""

from __future__ import annotations

import pytest
import trio

from modem.sockets.client_ids import ClientIdPool
from proxy.config.build import Endpoint, Mapping
from proxy.connections.admission import Admission, QueueFull, QueueTimeout
from proxy.connections.idle import Candidate, ReclaimBoard


class IdPlacer:
    """One ``ClientIdPool`` as admission's placer, for any map."""

    def __init__(self, ids: ClientIdPool) -> None:
        self.ids = ids

    def free_now(self, mapping: Mapping | None) -> bool:
        return self.ids.free > 0

    def place_nowait(self, mapping: Mapping | None) -> int | None:
        try:
            return self.ids.acquire_nowait()
        except trio.WouldBlock:
            return None

    async def place(self, mapping: Mapping | None) -> int:
        return await self.ids.acquire()

    def all_busy(self, mapping: Mapping | None) -> str:
        return f"all {self.ids.capacity} client ids busy"


def admission_over(ids: ClientIdPool, max_connections: int, queue_timeout: float,
                   **options) -> Admission[int]:
    """An ``Admission`` placing on ``ids``."""
    return Admission(IdPlacer(ids), max_connections, queue_timeout, **options)


async def hold(admission: Admission[int], got: list[int], release: trio.Event,
               task_status=trio.TASK_STATUS_IGNORED) -> None:
    async with admission.ticket() as ticket:
        cid = await ticket.placement()
        got.append(cid)
        task_status.started()
        await release.wait()
        admission.placer.ids.release(cid)


async def test_waiters_are_served_in_order(autojump_clock):
    pool = ClientIdPool(2)
    admission = admission_over(pool, max_connections=12, queue_timeout=30)
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
    admission = admission_over(pool, max_connections=12, queue_timeout=30)
    release = trio.Event()
    async with trio.open_nursery() as nursery:
        await nursery.start(hold, admission, [], release)
        start = trio.current_time()
        with pytest.raises(QueueTimeout, match="all 1 client ids busy"):
            async with admission.ticket() as ticket:
                await ticket.placement()
        assert trio.current_time() - start == pytest.approx(30)
        assert admission.busy == 1
        release.set()


async def test_queue_timeout_names_max_connections(autojump_clock):
    admission = admission_over(ClientIdPool(), max_connections=2, queue_timeout=5)
    release = trio.Event()
    async with trio.open_nursery() as nursery:
        await nursery.start(hold, admission, [], release)
        await nursery.start(hold, admission, [], release)
        with pytest.raises(QueueTimeout, match="--max-connections 2 reached"):
            async with admission.ticket():
                pass
        release.set()


async def test_deadline_counts_from_arrival(autojump_clock):
    admission = admission_over(ClientIdPool(1), max_connections=12, queue_timeout=10)
    release = trio.Event()
    async with trio.open_nursery() as nursery:
        await nursery.start(hold, admission, [], release)
        arrived = trio.current_time()
        await trio.sleep(8)
        with pytest.raises(QueueTimeout):
            async with admission.ticket(arrived) as ticket:
                await ticket.placement()
        assert trio.current_time() - arrived == pytest.approx(10)
        release.set()


async def test_zero_timeout_still_admits_when_free():
    admission = admission_over(ClientIdPool(1), max_connections=1, queue_timeout=0)
    async with admission.ticket() as ticket:
        assert await ticket.placement() == 0
        with pytest.raises(QueueTimeout):
            async with admission.ticket():
                pass
    assert admission.busy == 0


# -- the queue bound and the per-map limit ----------------------------------------------

MAP_A = Mapping(Endpoint("127.0.0.1", 9000), Endpoint("a.example.com", 443))
MAP_B = Mapping(Endpoint("127.0.0.1", 9001), Endpoint("b.example.com", 443))


async def test_past_queue_max_a_newcomer_is_refused_at_once(autojump_clock):
    admission = admission_over(ClientIdPool(1), max_connections=12, queue_timeout=30,
                               queue_max=1)
    release = trio.Event()
    async with trio.open_nursery() as nursery:
        await nursery.start(hold, admission, [], release)
        nursery.start_soon(hold, admission, [], release)  # waits: the queue's one place
        await trio.sleep(1)
        assert admission.queued == 1
        start = trio.current_time()
        with pytest.raises(QueueFull, match="--queue-max 1"):
            async with admission.ticket():
                pass
        assert trio.current_time() == start
        release.set()
    assert admission.queued == 0


async def test_a_map_limit_holds_its_map_only(autojump_clock):
    admission = admission_over(ClientIdPool(), max_connections=12, queue_timeout=5,
                          map_limits={MAP_A: 1})
    async with admission.ticket(mapping=MAP_A) as ticket:
        assert await ticket.placement() == 0
        assert admission.map_busy(MAP_A) == 1
        async with admission.ticket(mapping=MAP_B) as other:  # another map: at once
            assert await other.placement() == 1
            admission.placer.ids.release(1)
        start = trio.current_time()
        with pytest.raises(QueueTimeout, match="max-connections 1 of map"):
            async with admission.ticket(mapping=MAP_A):
                pass
        assert trio.current_time() - start == pytest.approx(5)
        admission.placer.ids.release(0)
    assert admission.map_busy(MAP_A) == 0 and admission.queued == 0


# -- the reclaim board --------------------------------------------------------------------

def candidate(mapping: Mapping, idle_since: float, woken: list[Mapping]) -> Candidate:
    return Candidate(mapping, idle_since, lambda: woken.append(mapping))


def test_a_waiter_asks_the_longest_idle_candidate_once():
    board = ReclaimBoard()
    woken: list[Mapping] = []
    newer, older = candidate(MAP_A, 10.0, woken), candidate(MAP_B, 5.0, woken)
    board.offer(newer)
    board.offer(older)
    assert woken == []  # nobody waits: nobody is asked
    with board.waiter() as waiter:
        assert waiter.candidate is older and older.asked_by is waiter
        assert newer.asked_by is None
        board.withdraw(older)  # busy again: the next one is asked
        assert waiter.candidate is newer and newer.asked_by is waiter
    assert newer.asked_by is None  # the waiter left before the close: released
    assert woken == [MAP_B, MAP_A, MAP_A]


def test_a_map_limited_waiter_asks_only_its_own_map():
    board = ReclaimBoard()
    other = candidate(MAP_B, 1.0, [])
    board.offer(other)
    with board.waiter(MAP_A) as waiter:
        assert waiter.candidate is None and other.asked_by is None
        own = candidate(MAP_A, 2.0, [])
        board.offer(own)
        assert waiter.candidate is own
        board.commit(own)  # closing now: the waiter stays served
        with board.waiter() as second:
            assert second.candidate is other  # a second waiter takes the next one
    assert board.waiting == 0
