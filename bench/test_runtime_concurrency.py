"""1000 single-task crews at 500 ms latency: akickoff_for_each vs gather(kickoff_async) vs
kickoff_for_each.

- ``akickoff_for_each(max_concurrency=1000)`` runs all 1000 (ideal wall: 0.5 s; target ≤ 3x),
  twice on one event loop: "cold" includes opening 1000 connections (the simulator's listen
  backlog of 128 makes the rest wait for a SYN retry, ~1 s), "warm" reuses the keep-alive
  pool, as a long batch does.
- ``gather(kickoff_async)`` is thread-based (CrewAI's semantics): at most the default
  executor's ``min(32, cpu + 4)`` crews run at once, so it runs ``GATHER_N`` crews and the
  wall for 1000 is extrapolated linearly (rounds of ``workers`` crews, 0.5 s each).
- ``kickoff_for_each`` is sequential: it runs ``SEQUENTIAL_N`` crews, extrapolated likewise.

(CrewAI 1.15.30: 200 crews at 500 ms took 22 s with akickoff_for_each.)
"""

from __future__ import annotations

import asyncio
import os
import time

import pytest
from runtime_common import one_task_crew

from fastcrew._loop import run
from fastcrew.sim import spawn

N = 1000
LATENCY_S = 0.5
GATHER_N = 60
SEQUENTIAL_N = 6
WORKERS = min(32, (os.cpu_count() or 1) + 4)
walls: dict[str, dict[str, float]] = {}


@pytest.fixture(scope="module")
def sim():
    with spawn(latency_ms=LATENCY_S * 1000) as server:
        yield server


def _inputs(n: int) -> list[dict[str, str]]:
    return [{"topic": f"topic {i}"} for i in range(n)]


def _record(benchmark, report, name: str, n: int, wall: float, projected: float) -> None:
    row = {
        "crews_run": n,
        "wall_s": round(wall, 3),
        "projected_wall_s_for_1000": round(projected, 2),
        "x_ideal": round(projected / LATENCY_S, 2),
    }
    walls[name] = row
    benchmark.extra_info.update(row)
    report.add(variant=name, **row)
    report.summary.update(
        crews=N,
        latency_s=LATENCY_S,
        target="akickoff_for_each <= 3x the ideal 0.5 s",
        variants=walls,
        note=f"gather(kickoff_async) ran {GATHER_N} crews and kickoff_for_each "
        f"{SEQUENTIAL_N}; their 1000-crew walls are linear extrapolations",
        crewai_1_15_30="200 crews at 500 ms: 22 s",
    )


def test_akickoff_for_each_1000(benchmark, sim, report):
    crew = one_task_crew(sim.base_url)
    cold: list[float] = []
    warm: list[float] = []

    async def main() -> None:
        for walls in (cold, warm):
            sim.reset_stats()
            started = time.perf_counter()
            results = await crew.akickoff_for_each(_inputs(N), max_concurrency=N)
            walls.append(time.perf_counter() - started)
            assert len(results) == N
        assert sim.stats()["peak_in_flight"] == N  # the warm round: all 1000 at once

    benchmark.pedantic(lambda: run(main()), rounds=3, iterations=1)
    _record(
        benchmark, report, "akickoff_for_each(max_concurrency=1000), cold", N, min(cold), min(cold)
    )
    _record(
        benchmark, report, "akickoff_for_each(max_concurrency=1000), warm", N, min(warm), min(warm)
    )


def test_gather_kickoff_async(benchmark, sim, report):
    crew = one_task_crew(sim.base_url)

    async def main() -> None:
        results = await asyncio.gather(*(crew.kickoff_async(i) for i in _inputs(GATHER_N)))
        assert len(results) == GATHER_N

    samples: list[float] = []

    def once() -> None:
        started = time.perf_counter()
        asyncio.run(main())  # the default executor: min(32, cpu + 4) threads
        samples.append(time.perf_counter() - started)

    benchmark.pedantic(once, rounds=1, iterations=1)
    wall = min(samples)
    projected = wall * N / GATHER_N
    _record(
        benchmark, report, f"gather(kickoff_async) [{WORKERS} threads]", GATHER_N, wall, projected
    )


def test_kickoff_for_each(benchmark, sim, report):
    crew = one_task_crew(sim.base_url)
    samples: list[float] = []

    def once() -> None:
        started = time.perf_counter()
        results = crew.kickoff_for_each(_inputs(SEQUENTIAL_N))
        samples.append(time.perf_counter() - started)
        assert len(results) == SEQUENTIAL_N

    benchmark.pedantic(once, rounds=1, iterations=1)
    wall = min(samples)
    _record(benchmark, report, "kickoff_for_each", SEQUENTIAL_N, wall, wall * N / SEQUENTIAL_N)
