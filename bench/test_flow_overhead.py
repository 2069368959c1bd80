"""CPU per trivial two-step flow (``@start`` → ``@listen``), on uvloop, one loop for N flows.

Each flow is a fresh instance (as a batch worker runs it): build the instance, seed a dict
state from inputs, run two methods, return. Compared with awaiting the two coroutines by
hand (the floor), and with the same flow written with plain ``def`` methods (each runs in a
worker thread). Target: ≤ 0.2 ms CPU per async flow. (CrewAI: 70-120 ms per trivial flow,
and 2-5 s for its first ``Flow()``.)
"""

from __future__ import annotations

import time

import pytest

from fastcrew._loop import run
from fastcrew.flow import Flow, listen, start

N = {"async_flow": 20_000, "bare_coroutines": 20_000, "sync_flow": 2_000}
INPUTS = {"topic": "batteries"}
cells: dict[str, float] = {}


class TwoStep(Flow):
    @start()
    async def first(self):
        return 1

    @listen(first)
    async def second(self, value):
        return value + 1


class TwoStepSync(Flow):
    @start()
    def first(self):
        return 1

    @listen(first)
    def second(self, value):
        return value + 1


async def _first() -> int:
    return 1


async def _second(value: int) -> int:
    return value + 1


def _make(variant: str, n: int):
    async def flows(cls: type[Flow]) -> None:
        for _ in range(n):
            assert await cls().akickoff(INPUTS) == 2

    async def bare() -> None:
        for _ in range(n):
            state = {"id": "x", **INPUTS}
            assert state
            assert await _second(await _first()) == 2

    if variant == "async_flow":
        return lambda: flows(TwoStep)
    if variant == "sync_flow":
        return lambda: flows(TwoStepSync)
    return bare


@pytest.mark.parametrize("variant", list(N))
def test_trivial_flow_cpu(benchmark, report, variant):
    n = N[variant]
    make = _make(variant, n)
    run(make())  # warm-up
    samples: list[float] = []

    def once() -> None:
        cpu0 = time.process_time()
        run(make())
        samples.append(time.process_time() - cpu0)

    benchmark.pedantic(once, rounds=5, iterations=1)
    cpu_ms = min(samples) / n * 1000
    cells[variant] = cpu_ms
    benchmark.extra_info.update(cpu_ms_per_flow=round(cpu_ms, 5), n=n)
    report.add(variant=variant, n=n, cpu_ms_per_flow=round(cpu_ms, 5))
    report.summary.update(
        cpu_ms_per_flow={k: round(v, 5) for k, v in cells.items()},
        target="async_flow <= 0.2 ms",
        crewai_ms_per_trivial_flow="70-120",
    )
