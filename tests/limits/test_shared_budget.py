"""Several limiters on one :class:`SharedBudget`, on one fast-forwarded loop (looptime).

Each limiter stands for another event loop's; on one loop the timing is exact. The
cross-thread cases (wakes between threads, dead loops) are in ``test_cross_loop.py``.
"""

from __future__ import annotations

import asyncio

import pytest

from fastcrew.limits import Lease, Limiter, RateLimit, SharedBudget

pytestmark = pytest.mark.looptime


def pair(limit: RateLimit) -> tuple[SharedBudget, Limiter, Limiter]:
    loop = asyncio.get_running_loop()
    shared = SharedBudget(limit, loop.time(), lag=0.0)
    return shared, Limiter(shared, max_concurrency=limit.max_concurrency), Limiter(shared)


async def admit_all(calls: list[tuple[Limiter, int]]) -> list[tuple[int, float]]:
    """Acquire in this arrival order; return (arrival index, admitted at) in admission order."""
    loop = asyncio.get_running_loop()
    order: list[tuple[int, float]] = []

    async def one(i: int, limiter: Limiter, tokens: int) -> None:
        lease = await limiter.acquire(tokens)
        order.append((i, loop.time()))
        lease.settle(tokens)

    tasks = []
    for i, (limiter, tokens) in enumerate(calls):
        tasks.append(asyncio.create_task(one(i, limiter, tokens)))
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    return order


async def test_a_large_call_on_one_limiter_is_not_starved_by_another_limiters_small_ones():
    # The single-limiter FIFO test, with the calls spread over two limiters: the 800-token
    # call (on the second) used to wait until the first limiter's queue ran dry.
    shared, first, second = pair(RateLimit(rpm=None, tpm=6000))  # 100 tokens/s, capacity 100
    weights = [10] * 5 + [800] + [10] * 50
    calls = [(first if i % 2 == 0 else second, w) for i, w in enumerate(weights)]
    order = await admit_all(calls)
    assert [i for i, _ in order] == list(range(len(weights)))  # strictly in arrival order
    big_at = dict(order)[5]
    assert big_at < 2.0  # a full bucket's wait, not the stream's
    assert shared.tickets == {}


async def test_a_refund_on_one_limiter_admits_the_others_front_at_once():
    _, first, second = pair(RateLimit(rpm=None, tpm=600))  # 10 tokens/s, capacity 10
    lease = await first.acquire(10)
    waiter = asyncio.create_task(second.acquire(8))
    await asyncio.sleep(0.1)
    assert not waiter.done()
    lease.settle(0)
    admitted: Lease = await waiter
    assert asyncio.get_running_loop().time() == pytest.approx(0.1)  # not 0.8 s, its timer
    assert admitted.tokens == 8


async def test_a_head_waiting_for_a_slot_steps_aside_and_keeps_its_place():
    # The first limiter allows one call in flight. Its second call waits for that slot, not
    # for budget, so the other limiter's calls go meanwhile; once the slot is free it is
    # next, ahead of the calls that arrived after it.
    shared, first, second = pair(RateLimit(rpm=600, tpm=None, max_concurrency=1))  # 10/s
    loop = asyncio.get_running_loop()
    held = await first.acquire(1)
    queued = asyncio.create_task(first.acquire(1))
    await asyncio.sleep(0)
    meanwhile = [await second.acquire(1) for _ in range(9)]  # the rest of the burst, at once
    assert loop.time() == 0
    assert not queued.done()
    later = [asyncio.create_task(second.acquire(1)) for _ in range(3)]
    await asyncio.sleep(0.05)
    held.settle(1)
    lease = await queued
    assert loop.time() == pytest.approx(0.1)  # the first request after the burst
    assert not any(task.done() for task in later)
    await asyncio.gather(*later)
    assert loop.time() == pytest.approx(0.4)
    for done in [lease, *meanwhile]:
        done.settle(1)
    assert shared.tickets == {}


async def test_a_cancelled_front_hands_the_turn_to_the_next_limiter():
    shared, first, second = pair(RateLimit(rpm=None, tpm=600))  # 10 tokens/s, capacity 10
    await first.acquire(10)
    big = asyncio.create_task(first.acquire(10))
    small = asyncio.create_task(second.acquire(2))
    await asyncio.sleep(0.3)
    assert not small.done()  # behind the 10-token call, which needs 0.7 s more
    big.cancel()
    await small
    assert asyncio.get_running_loop().time() == pytest.approx(0.3)
    assert shared.tickets == {}
