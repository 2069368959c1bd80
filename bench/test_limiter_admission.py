"""Limiter admission cost: acquire + settle per call, uncontended and through the queue.

The queued case includes the event loop's task switching; the same workload through a plain
``asyncio.Semaphore`` is measured beside it, so the limiter's own share is the difference.

Target: ≤ 5 µs per admission and ≥ 20,000 admissions/s in one process (uvloop).
"""

from __future__ import annotations

import asyncio

from benchlib import timed

from fastcrew.limits import Limiter, LocalBudget, RateLimit

N = 200_000


def _fast_path():
    async def main() -> None:
        loop = asyncio.get_running_loop()
        limiter = Limiter(LocalBudget(RateLimit(rpm=10**9, tpm=10**12), loop.time()))
        for _ in range(N):
            lease = await limiter.acquire(500)
            lease.settle(450)

    return main


def _queued():
    """Every caller queues: 2,000 concurrent tasks, 20 slots, each call yields once."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        limiter = Limiter(
            LocalBudget(RateLimit(rpm=10**9, tpm=10**12), loop.time()), max_concurrency=20
        )

        async def worker(count: int) -> None:
            for _ in range(count):
                lease = await limiter.acquire(500)
                await asyncio.sleep(0)
                lease.settle(450)

        await asyncio.gather(*(worker(N // 2000) for _ in range(2000)))
        assert limiter.stats.admitted == N

    return main


def _semaphore_baseline():
    """The same 2,000 tasks and 20 slots through a plain asyncio.Semaphore: the loop's share."""

    async def main() -> None:
        gate = asyncio.Semaphore(20)

        async def worker(count: int) -> None:
            for _ in range(count):
                async with gate:
                    await asyncio.sleep(0)

        await asyncio.gather(*(worker(N // 2000) for _ in range(2000)))

    return main


def _bench(benchmark, report, name, make) -> None:
    samples: list[float] = []

    def once() -> None:
        wall, _ = timed(make)
        samples.append(wall)

    benchmark.pedantic(once, rounds=3, iterations=1)
    per_us = min(samples) / N * 1e6
    benchmark.extra_info.update(us_per_admission=round(per_us, 3))
    report.summary[name] = f"{per_us:.2f} us/admission"
    report.add(
        path=name, n=N, us_per_admission=round(per_us, 3), admissions_per_s=round(1e6 / per_us)
    )


def test_uncontended_admission(benchmark, report):
    _bench(benchmark, report, "uncontended", _fast_path())


def test_queued_semaphore_baseline(benchmark, report):
    _bench(benchmark, report, "asyncio.Semaphore baseline (2000 tasks, 20 slots)",
           _semaphore_baseline())  # fmt: skip


def test_queued_admission(benchmark, report):
    _bench(benchmark, report, "queued (2000 tasks, 20 slots)", _queued())
    report.summary["target"] = "<= 5 us per admission, >= 20,000 admissions/s"
