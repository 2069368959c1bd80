"""The global budget and its leases, in one loop on a fast-forwarded clock (looptime).

The supervisor's :class:`GlobalBudgets` and several workers' :class:`WorkerBudgets` exchange
the real protocol messages, delivered with ``call_soon`` (asynchronous and in order, like
the socket between processes); each worker has a real :class:`Limiter` on a
:class:`LeasedBudget`. No sleeps: loop time is fake and exact.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from fastcrew.batch.supervisor.budget import GlobalBudgets
from fastcrew.batch.wire.lease import IDLE_RETURN_S, MAX_BATCH
from fastcrew.batch.wire.messages import Give, Grant, Want
from fastcrew.batch.worker.budget import LeasedBudget, WorkerBudgets
from fastcrew.errors import RateLimitError
from fastcrew.limits import Limiter, RateLimit, RateLimitSnapshot
from fastcrew.limits.source import DEFAULT_LAG_S

pytestmark = pytest.mark.looptime

KEY = "http://sim/v1#abc"


class Net:
    """A supervisor and ``n`` workers wired together in the running loop."""

    def __init__(self, n: int, **limits: int | None) -> None:
        loop = self.loop = asyncio.get_running_loop()
        self.sent: list[tuple[int, Any]] = []
        self.received: list[tuple[int, Any]] = []
        self.glob = GlobalBudgets(self._to_worker, loop, **limits)
        self.workers: list[WorkerBudgets] = []
        for i in range(n):
            self.workers.append(WorkerBudgets(self._to_supervisor(i), **limits))
            self.glob.add_worker(i)

    def _to_supervisor(self, i: int):
        def send(message: Any) -> None:
            self.sent.append((i, message))
            self.loop.call_soon(self.glob.handle, i, message)

        return send

    def _to_worker(self, i: int, message: Any) -> None:
        self.received.append((i, message))
        self.loop.call_soon(self.workers[i].handle, message)

    def limiter(self, i: int, limit: RateLimit | None = None) -> Limiter:
        source = self.workers[i].source(
            KEY, limit or RateLimit(), self.loop.time(), limit is not None
        )
        return Limiter(source, loop=self.loop)


async def drive(
    limiters: list[Limiter],
    seconds: float,
    *,
    callers: int = 20,
    reserve: int = 1,
    actual: int | None = None,
    pause: float = 0.0,
    answer: int = 0,
    usage: tuple[int, int] | None = None,
) -> list[list[float]]:
    """``callers`` loops per limiter, acquiring and settling at once, for ``seconds``
    (``pause``: seconds between one caller's calls; ``answer``: the answer allowance of the
    ``reserve``; ``usage``: the (prompt, answer) tokens each call reports)."""
    loop = asyncio.get_running_loop()
    stop = loop.time() + seconds
    admitted: list[list[float]] = [[] for _ in limiters]

    async def caller(i: int) -> None:
        limiter = limiters[i]
        while loop.time() < stop:
            lease = await limiter.acquire(reserve, completion=answer)
            admitted[i].append(loop.time())
            if usage is not None:
                lease.settle_usage(*usage)
            else:
                lease.settle(actual if actual is not None else reserve)
            await asyncio.sleep(pause)

    tasks = [asyncio.create_task(caller(i)) for i in range(len(limiters)) for _ in range(callers)]
    await asyncio.sleep(seconds)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return admitted


async def test_aggregate_rate_across_workers_within_two_percent():
    net = Net(3, rpm=600)  # 10 requests/s for everyone together, burst 10
    limiters = [net.limiter(i) for i in range(3)]
    admitted = await drive(limiters, 60.0)
    times = sorted(t for per in admitted for t in per)
    start = times[0]
    # never more than rate * t + burst, at any moment
    for k, t in enumerate(times, 1):
        assert k <= 10 * (t - start) + 10 + 1e-6
    steady = [t for t in times if t - start >= 1.0]
    assert len(steady) / 59.0 == pytest.approx(10.0, rel=0.02)
    shares = [len(per) for per in admitted]
    assert min(shares) >= 0.8 * max(shares)  # FIFO across workers: nobody starves
    # A binding limit is granted one request at a time (no worker hoards a batch).
    requests = [m.requests for _, m in net.received if isinstance(m, Grant)]
    assert sum(requests) == len(times)
    assert requests[-200:] == [1] * 200
    # ... and no worker keeps more than two calls' worth for a batch that cannot come.
    budgets = [b for w in net.workers for b in w.budgets.values()]
    assert all(b.batch <= 2 and b.keep_tokens <= 2 * 1 for b in budgets)  # 1 token a call


async def test_a_hot_budget_with_room_to_spare_leases_in_batches_and_gives_back_the_rest():
    net = Net(2, rpm=6_000_000)  # 100,000/s: never binding for 2 x 20 calls per ms
    limiters = [net.limiter(i) for i in range(2)]
    admitted = await drive(limiters, 1.0, pause=0.001)
    calls = sum(len(per) for per in admitted)
    wants = [m for _, m in net.sent if isinstance(m, Want)]
    assert max(m.more for m in wants) == MAX_BATCH - 1  # doubled up to the cap
    assert len(wants) * 8 < calls  # one round trip serves many calls (was one per call)
    await asyncio.sleep(IDLE_RETURN_S * 2)  # idle: every unused request goes back
    assert all(b.requests == 0 for w in net.workers for b in w.budgets.values())
    state = net.glob.keys[KEY]
    given = sum(m.requests for _, m in net.sent if isinstance(m, Give))
    assert state.granted_requests - given == calls


async def test_tokens_budget_counts_real_usage_after_refunds():
    net = Net(2, tpm=60_000)  # 1,000 tokens/s
    limiters = [net.limiter(i) for i in range(2)]
    # each call reserves 300 tokens but uses 100: refunds must flow back to the others
    admitted = await drive(limiters, 30.0, reserve=300, actual=100)
    calls = sum(len(per) for per in admitted)
    used = calls * 100
    assert used <= 1000 * 30 + 1000 + 300
    assert used / (1000 * 30) == pytest.approx(1.0, rel=0.05)
    # Binding: nobody keeps a batch's worth of refunds while the others wait.
    assert all(b.keep_tokens <= 2 * 300 for w in net.workers for b in w.budgets.values())


async def test_a_429_in_one_worker_pauses_all_of_them():
    net = Net(2, rpm=6_000)
    first, second = net.limiter(0), net.limiter(1)
    (await first.acquire(1)).refuse()
    first.rate_limited(RateLimitError("slow down", retry_after=2.0, limit="requests"))
    await asyncio.sleep(0.01)  # the pause travels to the supervisor and on to worker 1
    loop = asyncio.get_running_loop()
    begun = loop.time()
    lease = await second.acquire(1)
    assert loop.time() - begun == pytest.approx(2.0, abs=0.02)
    lease.settle(1)
    assert net.glob.pauses == 1


async def test_an_idle_worker_gives_its_slice_back():
    net = Net(2, rpm=600)
    lease = await net.limiter(0).acquire(50)
    lease.settle(10)  # a 40-token refund stays in worker 0 for a while
    budget: LeasedBudget = next(iter(net.workers[0].budgets.values()))
    assert budget.tokens > 0
    await asyncio.sleep(IDLE_RETURN_S * 2)
    assert budget.tokens == 0
    assert budget.requests == 0
    gives = [m for i, m in net.sent if i == 0 and isinstance(m, Give)]
    assert gives
    assert sum(m.tokens for m in gives) == 40


async def test_a_call_that_used_more_than_it_reserved_is_charged_at_once():
    net = Net(1, tpm=6_000)  # 100 tokens/s, capacity 100
    limiter = net.limiter(0)
    lease = await limiter.acquire(10)
    before = net.glob.keys[KEY].budget.tokens.level  # type: ignore[union-attr]
    lease.settle(90)  # 80 more than reserved
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    after = net.glob.keys[KEY].budget.tokens.level  # type: ignore[union-attr]
    assert after == pytest.approx(before - 80, abs=1.0)


async def test_auto_limits_learned_from_headers_turn_leases_on_everywhere():
    net = Net(2)  # rpm/tpm "auto": nothing to lease until the provider tells us its limits
    first, second = net.limiter(0), net.limiter(1)
    (await first.acquire(1)).settle(1)
    assert not [m for _, m in net.sent if isinstance(m, Want)]
    first.observe(RateLimitSnapshot(limit_requests=600, remaining_requests=600))
    await asyncio.sleep(0.01)
    assert all(b.limited for w in net.workers for b in w.budgets.values())
    (await second.acquire(1)).settle(1)
    assert [m for i, m in net.sent if i == 1 and isinstance(m, Want)]


async def test_a_removed_worker_loses_its_place_in_the_queue():
    net = Net(2, rpm=60)  # 1/s, burst 1
    a, b = net.limiter(0), net.limiter(1)
    (await a.acquire(1)).settle(1)  # the burst is gone
    waiting_a = asyncio.create_task(a.acquire(1))
    await asyncio.sleep(0.01)
    waiting_b = asyncio.create_task(b.acquire(1))
    await asyncio.sleep(0.01)
    net.glob.remove_worker(0)  # worker 0 died while waiting
    loop = asyncio.get_running_loop()
    begun = loop.time()
    (await waiting_b).settle(1)
    # one second per request, plus the provider's lag after the burst (limits.source)
    assert loop.time() - begun == pytest.approx(0.98 + DEFAULT_LAG_S, abs=0.05)
    assert not waiting_a.done()
    waiting_a.cancel()


async def test_worker_budgets_keep_the_llms_charging_model_under_rpm_overrides():
    budgets = WorkerBudgets(lambda message: None, rpm=600, tpm=None)
    limit = RateLimit(rpm=60, tpm=1000, charge="usage", default_max_tokens=64)
    source = budgets.source("k", limit, 0.0, True)
    assert (source.limit.rpm, source.limit.tpm) == (600, 1000)
    assert (source.limit.charge, source.limit.default_max_tokens) == ("usage", 64)


async def test_input_and_output_budgets_are_leased_apart_across_workers():
    # 1,000 input and 100 output tokens/s for everyone together (buckets of a minute). Each
    # call reserves a 100-token prompt and a 400-token answer allowance, and answers in 50:
    # the output budget binds, and only after the refunds of the unused allowance.
    net = Net(3, itpm=60_000, otpm=6_000)
    limiters = [net.limiter(i, RateLimit(charge="usage")) for i in range(3)]
    seconds = 120.0
    admitted = await drive(limiters, seconds, reserve=500, answer=400, usage=(100, 50))
    calls = sum(len(per) for per in admitted)
    output_floor = 6_000 + 100 * seconds  # the full bucket, then its refill
    assert calls * 50 <= output_floor + 400
    assert calls * 50 == pytest.approx(output_floor, rel=0.03)
    state = net.glob.keys[KEY]
    budget = state.budget
    assert state.split
    assert budget.tokens is None
    assert budget.input is not None
    assert budget.output is not None
    assert budget.input.level > 0  # input never ran short
    grants = [m for _, m in net.received if isinstance(m, Grant)]
    assert all(0 < m.output <= m.tokens for m in grants)
    assert sum(m.output for _, m in net.sent if isinstance(m, Give)) > 0  # refunds went back
    start = min(t for per in admitted for t in per)
    shares = [sum(t > start + 60 for t in per) for per in admitted]  # the full bucket spent
    assert min(shares) >= 0.8 * max(shares)


async def test_a_learned_split_reaches_every_worker():
    net = Net(2)  # everything "auto"
    first, second = net.limiter(0), net.limiter(1)
    (await first.acquire(10, completion=5)).settle(10)
    first.observe(RateLimitSnapshot(limit_input_tokens=60_000, limit_output_tokens=6_000))
    await asyncio.sleep(0.01)
    assert all(b.limited and b.split for w in net.workers for b in w.budgets.values())
    (await second.acquire(100, completion=40)).settle(100)
    wants = [m for i, m in net.sent if i == 1 and isinstance(m, Want)]
    assert [(m.tokens, m.output) for m in wants] == [(100, 40)]


async def test_itpm_and_otpm_options_replace_the_llms_own_split_limits():
    budgets = WorkerBudgets(lambda message: None, itpm=1_000, otpm=None)
    limit = RateLimit(itpm=50, otpm=70, charge="usage")
    source = budgets.source("k", limit, 0.0, True)
    assert (source.limit.itpm, source.limit.otpm, source.limit.charge) == (1_000, 70, "usage")
    assert source.split
