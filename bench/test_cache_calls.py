"""What ``LLM(cache=...)`` costs a call: CPU per call without a cache, on a miss (key, a get
that finds nothing, ``put_later``, the writer thread's transaction) and on a hit (no HTTP).

2,000 sequential ``achat`` calls of a ~2 KB request to a spawned simulator (its CPU is not
counted), best of 3 rounds. Two figures per cell: the event loop's thread
(``time.thread_time``) and the whole process (``time.process_time``: the cache's writer
thread included, its queue flushed before the clock stops).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fastcrew import LLM
from fastcrew.limits import RateLimit, RetryPolicy
from fastcrew.llm.cached import open_cache
from fastcrew.sim import SpawnedSim, spawn

N = 2_000
SYSTEM = "You are a careful analyst. " * 70  # ~1.8 KB


@pytest.fixture(scope="module")
def sim() -> Iterator[SpawnedSim]:
    with spawn(seed=1) as server:
        yield server


def _llm(sim: SpawnedSim, cache: Any = None) -> LLM:
    return LLM(
        "openai/sim-model",
        base_url=sim.base_url,
        cache=cache,
        price="0.4/1.6",
        rate_limit=RateLimit(rpm=None, tpm=None),
        retry=RetryPolicy(max_attempts=1),
    )


def _cpu(llm: LLM, prefix: str) -> tuple[float, float]:
    """(loop-thread µs, process µs) per call of N calls named ``prefix``."""

    async def calls() -> tuple[float, float]:
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": ""}]
        for i in range(20):  # warm: session, pricer, connection
            messages[1]["content"] = f"warm {prefix} {i}"
            await llm.achat(messages, max_tokens=20)
        cpu0, thread0 = time.process_time(), time.thread_time()
        for i in range(N):
            messages[1]["content"] = f"{prefix} {i}"
            await llm.achat(messages, max_tokens=20)
        if llm._cache is not None:
            await open_cache(llm._cache).aflush()
        return time.thread_time() - thread0, time.process_time() - cpu0

    loop_s, process_s = asyncio.run(calls())
    return loop_s / N * 1e6, process_s / N * 1e6


def _record(benchmark: Any, report: Any, name: str, samples: list[tuple[float, float]]) -> None:
    loop_us = min(s[0] for s in samples)
    process_us = min(s[1] for s in samples)
    benchmark.extra_info.update(loop_us=round(loop_us, 1), process_us=round(process_us, 1))
    report.summary[name] = f"{loop_us:.0f} us loop thread, {process_us:.0f} us process CPU"
    report.add(cell=name, n=N, loop_us=round(loop_us, 1), process_us=round(process_us, 1))


def test_no_cache(benchmark: Any, report: Any, sim: SpawnedSim) -> None:
    llm, samples, rounds = _llm(sim), [], iter(range(3))
    benchmark.pedantic(lambda: samples.append(_cpu(llm, f"none {next(rounds)}")), rounds=3)
    _record(benchmark, report, "no cache", samples)


def test_miss_then_hit(benchmark: Any, report: Any, sim: SpawnedSim, tmp_path: Path) -> None:
    llm = _llm(sim, tmp_path / "calls.sqlite")
    misses: list[tuple[float, float]] = []
    hits: list[tuple[float, float]] = []
    rounds = iter(range(3))

    def round_() -> None:
        prefix = f"cached {next(rounds)}"
        misses.append(_cpu(llm, prefix))
        hits.append(_cpu(llm, prefix))  # the same requests again

    benchmark.pedantic(round_, rounds=3)
    _record(benchmark, report, "miss (key + get + put_later + write)", misses)
    _record(benchmark, report, "hit (no request)", hits)
