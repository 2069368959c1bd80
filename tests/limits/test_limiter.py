"""The limiter on a fast-forwarded stdlib loop (looptime): exact timing, no real sleeps.

Every test runs twice: on a :class:`LocalBudget` (one loop's own buckets) and on a
:class:`SharedBudget` (the process-wide buckets, whose limiters keep one arrival order across
loops — here one loop, which must behave exactly the same).
"""

import asyncio

import pytest

from fastcrew.errors import QuotaExhaustedError, RateLimitError
from fastcrew.limits import BudgetSource, Limiter, LocalBudget, RateLimit, RateLimitSnapshot
from fastcrew.limits.shared import SharedBudget

pytestmark = pytest.mark.looptime

SHARED = False


@pytest.fixture(autouse=True, params=["local", "shared"])
def budget_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(f"{__name__}.SHARED", request.param == "shared")


def make(limit: RateLimit, lag: float = 0.0) -> Limiter:
    """A limiter on a local or shared budget; ``lag`` 0 keeps the bucket arithmetic exact."""
    loop = asyncio.get_running_loop()
    budget: BudgetSource
    if SHARED:
        budget = SharedBudget(limit, loop.time(), lag=lag)
    else:
        budget = LocalBudget(limit, loop.time(), lag=lag)
    return Limiter(budget, max_concurrency=limit.max_concurrency)


async def admit_all(limiter: Limiter, weights, settle=True):
    """Acquire leases for ``weights`` in arrival order; return (weight, admitted_at) pairs."""
    loop = asyncio.get_running_loop()
    order = []

    async def one(i, w):
        lease = await limiter.acquire(w)
        order.append((i, w, loop.time()))
        if settle:
            lease.settle(w)

    tasks = []
    for i, w in enumerate(weights):
        tasks.append(asyncio.create_task(one(i, w)))
        await asyncio.sleep(0)  # fix the arrival order
    await asyncio.gather(*tasks)
    return order


async def test_rpm_rate_and_one_second_burst():
    limiter = make(RateLimit(rpm=600, tpm=None))  # 10/s, burst 10
    order = await admit_all(limiter, [1] * 100)
    times = [t for _, _, t in order]
    assert sum(t == 0 for t in times) == 10  # the burst: one second's worth, not a minute's
    assert times[-1] == pytest.approx(9.0)
    # at most rate*T + burst in any prefix
    for k, t in enumerate(times, 1):
        assert k <= 10 * t + 10 + 1e-9


async def test_tpm_limits_by_tokens():
    limiter = make(RateLimit(rpm=None, tpm=60_000))  # 1000 tokens/s, burst 1000
    order = await admit_all(limiter, [500] * 10)
    assert order[-1][2] == pytest.approx(4.0)


async def test_fifo_a_large_request_is_not_starved_by_small_ones():
    limiter = make(RateLimit(rpm=None, tpm=6000))  # 100 tokens/s, capacity 100
    weights = [10] * 5 + [800] + [10] * 50
    order = await admit_all(limiter, weights)
    positions = [i for i, _, _ in order]
    assert positions == sorted(positions)  # admitted strictly in arrival order
    big_at = next(t for i, w, t in order if w == 800)
    assert big_at < 2.0  # waited for a full bucket only, not for the stream of small ones


async def test_settle_refunds_the_unused_reservation():
    limiter = make(RateLimit(rpm=None, tpm=60_000))  # capacity 1000
    lease = await limiter.acquire(1000)
    lease.settle(100)  # only 100 were used
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await limiter.acquire(900)
    assert loop.time() == t0  # the refund made room at once
    assert limiter.stats.settled_tokens == 100


async def test_settle_charges_an_underestimate():
    limiter = make(RateLimit(rpm=None, tpm=60_000))
    lease = await limiter.acquire(100)
    lease.settle(2000)  # used far more than reserved: the bucket goes into debt
    loop = asyncio.get_running_loop()
    await limiter.acquire(100)
    assert loop.time() == pytest.approx(1.1)  # 1000 tokens of debt + 100 needed, at 1000/s


async def test_pause_on_429_holds_every_waiter():
    limiter = make(RateLimit(rpm=6000, tpm=None))
    loop = asyncio.get_running_loop()
    waiters = [asyncio.create_task(limiter.acquire(1)) for _ in range(3)]
    limiter.rate_limited(RateLimitError("429", retry_after=5.0, limit="requests"))
    await asyncio.sleep(0)
    await asyncio.gather(*waiters)
    assert loop.time() >= 5.0
    assert limiter.stats.rate_limited == 1
    assert limiter.stats.per_kind_429 == {"requests": 1}


async def test_429_without_retry_after_pauses_a_default_second():
    limiter = make(RateLimit(rpm=None, tpm=None))
    limiter.rate_limited(RateLimitError("429"))
    loop = asyncio.get_running_loop()
    await limiter.acquire(1)
    assert loop.time() == pytest.approx(1.0)


async def test_headers_tighten_our_view():
    limiter = make(RateLimit(rpm=600, tpm=None))  # we think 10 are available now
    limiter.observe(RateLimitSnapshot(limit_requests=600, remaining_requests=0))
    loop = asyncio.get_running_loop()
    await limiter.acquire(1)
    assert loop.time() == pytest.approx(0.1)


async def test_auto_limits_are_learned_from_headers():
    limiter = make(RateLimit())  # auto: unlimited until the provider says otherwise
    await admit_all(limiter, [1] * 50)
    loop = asyncio.get_running_loop()
    assert loop.time() == 0
    limiter.observe(
        RateLimitSnapshot(
            limit_requests=60, remaining_requests=1, limit_tokens=6000, remaining_tokens=5000
        )
    )
    order = await admit_all(limiter, [1] * 3)
    assert [t for *_, t in order] == pytest.approx([0.0, 1.0, 2.0])


async def test_quota_exhaustion_fails_waiters_and_later_calls():
    limiter = make(RateLimit(rpm=60, tpm=None))
    await admit_all(limiter, [1])  # drains the 1-request burst
    waiter = asyncio.create_task(limiter.acquire(1))
    await asyncio.sleep(0)
    limiter.exhaust(QuotaExhaustedError("no quota", status=429))
    with pytest.raises(QuotaExhaustedError):
        await waiter
    with pytest.raises(QuotaExhaustedError):
        await limiter.acquire(1)


async def test_max_concurrency_bounds_calls_in_flight():
    limiter = make(RateLimit(rpm=None, tpm=None, max_concurrency=3))
    loop = asyncio.get_running_loop()

    async def call():
        lease = await limiter.acquire(1)
        await asyncio.sleep(1)
        lease.settle(1)

    await asyncio.gather(*(call() for _ in range(9)))
    assert limiter.stats.peak_in_flight == 3
    assert loop.time() == pytest.approx(3.0)


async def test_a_cancelled_waiter_does_not_block_the_queue():
    limiter = make(RateLimit(rpm=60, tpm=None))
    await limiter.acquire(1)
    first = asyncio.create_task(limiter.acquire(1))
    second = asyncio.create_task(limiter.acquire(1))
    await asyncio.sleep(0.5)
    first.cancel()
    lease = await second
    assert asyncio.get_running_loop().time() == pytest.approx(1.0)
    assert lease.tokens == 1
