"""``Crew.akickoff_for_each_iter`` / ``bounded_iter``: outputs one by one in input order, with
bounded runs in flight, a bounded reorder buffer, lazy inputs and cancellation on early exit.

Loop time is fast-forwarded (looptime), so latencies cost no wall time.
"""

from __future__ import annotations

import asyncio
import gc
import random
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing

import pytest

from fastcrew import ConfigurationError, Crew, CrewOutput, FastCrewError, Task
from fastcrew.runtime.for_each import bounded_iter
from fastcrew.sim import serve

from .conftest import Probe, agent, sim_llm

pytestmark = pytest.mark.looptime


def _crew(llm, **kwargs) -> Crew:
    a = agent(llm)
    task = Task(description="Research {topic}", expected_output="notes", agent=a)
    return Crew(agents=[a], tasks=[task], **kwargs)


class Rows:
    """A generator of ``n`` inputs that records how far it was pulled and whether it closed."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.pulled = 0
        self.closed = False

    def __iter__(self) -> Iterator[int]:
        try:
            for i in range(self.n):
                self.pulled += 1
                yield i
        finally:
            self.closed = True


async def test_twenty_thousand_inputs_bound_100_stay_bounded_and_in_order():
    n, bound = 20_000, 100
    rows = Rows(n)
    rng = random.Random(1)
    steps = [rng.randrange(8) for _ in range(n)]  # loop turns each takes: out of order
    peak_tasks = 0
    peak_ahead = 0  # pulled from the input but not yet yielded
    yielded = 0

    async def run(i: int, x: int) -> int:
        nonlocal peak_tasks
        peak_tasks = max(peak_tasks, len(asyncio.all_tasks()))
        for _ in range(steps[i]):
            await asyncio.sleep(0)
        return x * 2

    out: list[int] = []
    async for value in bounded_iter(run, iter(rows), bound):
        out.append(value)
        yielded += 1
        peak_ahead = max(peak_ahead, rows.pulled - yielded)
    assert out == [2 * i for i in range(n)]
    # the bound's runs + the test's own task + the feeder (akickoff_for_each's list of 20,000
    # results is what this replaces)
    assert peak_tasks <= bound + 2
    assert peak_ahead <= 2 * bound + 1  # in flight + finished waiting for an earlier one
    assert rows.closed


async def test_a_slow_head_stops_new_starts_at_the_reorder_window():
    bound = 4
    release = asyncio.Event()
    started: list[int] = []

    async def run(i: int, x: int) -> int:
        started.append(i)
        if i == 0:
            await release.wait()  # the head is slow, the others finish at once
        return x

    results = bounded_iter(run, range(100), bound)
    first = asyncio.ensure_future(anext(results))
    await asyncio.sleep(1)
    assert started == list(range(2 * bound))  # the window, not 100
    release.set()
    assert await first == 0
    assert [x async for x in results] == list(range(1, 100))


async def test_the_consumer_is_not_needed_for_runs_to_progress():
    started: list[int] = []

    async def run(i: int, x: int) -> int:
        started.append(i)
        await asyncio.sleep(0.1)
        return x

    async with aclosing(bounded_iter(run, range(10), 2)) as results:
        assert await anext(results) == 0
        await asyncio.sleep(10)  # a slow consumer: the window fills meanwhile
        assert started == [0, 1, 2, 3, 4]  # 1 yielded + 2 x 2 started and not yet yielded
        assert [x async for x in results] == list(range(1, 10))


@pytest.mark.parametrize("close", ["aclosing", "break_and_collect"])
async def test_stopping_early_cancels_the_runs_in_flight_and_closes_the_input(close: str):
    rows = Rows(1000)
    spawned: list[int] = []
    started: list[int] = []
    live: set[int] = set()
    cancelled: list[int] = []
    all_cancelled = asyncio.Event()

    async def run(i: int, x: int) -> int:
        started.append(i)
        live.add(i)
        try:
            if i >= 3:
                await asyncio.Event().wait()  # never finishes by itself
            return x
        except asyncio.CancelledError:
            cancelled.append(i)
            raise
        finally:
            live.discard(i)
            if cancelled and not live:
                all_cancelled.set()

    got: list[int] = []
    if close == "aclosing":
        async with aclosing(bounded_iter(run, iter(rows), 10, on_spawn=spawned.append)) as results:
            async for value in results:
                got.append(value)
                if value == 2:
                    break
        assert all_cancelled.is_set()  # aclose() returned: everything is already cancelled
    else:
        results = bounded_iter(run, iter(rows), 10, on_spawn=spawned.append)
        async for value in results:
            got.append(value)
            if value == 2:
                break
        del results
        gc.collect()  # the loop's async-generator finalizer schedules aclose()
        await asyncio.wait_for(all_cancelled.wait(), 5)
        pulled = rows.pulled
        await asyncio.sleep(1)
        assert rows.pulled == pulled  # the feeder is gone too
    assert got == [0, 1, 2]
    assert live == set()
    assert sorted(cancelled) == sorted(started)[3:]  # every run left in flight, no other
    assert 7 <= len(cancelled) <= 10
    assert len(spawned) <= 13  # the 3 that finished, then 10 in flight
    assert rows.pulled <= len(spawned) + 1  # one input may wait for its slot


async def test_without_return_exceptions_earlier_outputs_come_first_then_the_error():
    cancelled: list[int] = []

    async def run(i: int, x: int) -> int:
        try:
            await asyncio.sleep({0: 1.0, 1: 0.5, 2: 0.1}.get(i, 5.0))
        except asyncio.CancelledError:
            cancelled.append(i)
            raise
        if i == 2:
            raise KeyError("row 2")
        return x

    got: list[int] = []

    async def consume() -> None:
        async for value in bounded_iter(run, range(8), 4):
            got.append(value)

    with pytest.raises(KeyError, match="row 2"):
        await consume()
    assert got == [0, 1]  # before the failing input, in order
    assert cancelled == [3]  # the run after it that was in flight; 4.. never started


async def test_an_error_of_the_input_itself_comes_after_the_outputs_before_it():
    def rows() -> Iterator[int]:
        yield 0
        yield 1
        raise OSError("input file broke")

    async def run(i: int, x: int) -> int:
        await asyncio.sleep(1.0 - i / 2)
        return x

    got: list[int] = []

    async def consume() -> None:
        async for value in bounded_iter(run, rows(), 5):
            got.append(value)

    with pytest.raises(OSError, match="input file broke"):
        await consume()
    assert got == [0, 1]


# -- Crew.akickoff_for_each_iter on the simulator ----------------------------------------


async def test_crew_outputs_come_in_input_order_with_bounded_http_concurrency():
    async with serve(seed=3, latency_ms=20, jitter_ms=30, jitter_sigma=1.0) as sim:
        crew = _crew(sim_llm(sim.base_url))

        async def rows() -> AsyncIterator[dict[str, str]]:
            for i in range(120):
                yield {"topic": f"t{i}"}

        outs = [out async for out in crew.akickoff_for_each_iter(rows(), max_concurrency=8)]
        stats = sim.stats()
    assert all(isinstance(o, CrewOutput) for o in outs)
    assert all(f"Research t{i}" in o.raw for i, o in enumerate(outs))
    assert stats["requests_total"] == 120
    assert stats["peak_in_flight"] == 8


async def test_crew_leaving_the_loop_cancels_the_runs_in_flight():
    async with serve(latency_ms=200) as sim:
        probe = Probe(sim_llm(sim.base_url))
        crew = _crew(probe)
        rows = ({"topic": f"t{i}"} for i in range(10_000))
        async with aclosing(crew.akickoff_for_each_iter(rows, max_concurrency=5)) as outs:
            first = await anext(outs)
            await asyncio.sleep(0.1)  # rows 5..9 are half-way through their calls
            in_flight = sim.stats()["in_flight"]
        assert "Research t0" in first.raw
        await asyncio.sleep(5)  # 25 rounds of 200 ms: nothing new starts after the exit
        stats = sim.stats()
    assert in_flight == 5
    assert (probe.calls, probe.finished, probe.cancelled) == (10, 5, 5)
    assert stats["requests_total"] == 10
    assert stats["in_flight"] == 0


async def test_crew_return_exceptions_keeps_the_place_of_failures(llm):
    crew = _crew(llm)
    rows = [{"topic": "ok"}, {"wrong": 1}, {"topic": "fine"}]
    outs = [o async for o in crew.akickoff_for_each_iter(rows, return_exceptions=True)]
    assert isinstance(outs[0], CrewOutput)
    assert isinstance(outs[1], FastCrewError)
    assert "missing input 'topic'" in str(outs[1])
    assert isinstance(outs[2], CrewOutput)
    with pytest.raises(FastCrewError, match="missing input 'topic'"):
        async for _ in crew.akickoff_for_each_iter(rows):
            pass


async def test_crew_refuses_stream_and_a_bad_bound_at_the_call(llm):
    with pytest.raises(ConfigurationError, match="akickoff_for_each with stream=True"):
        _crew(llm, stream=True).akickoff_for_each_iter([{"topic": "x"}])
    with pytest.raises(ValueError, match="max_concurrency must be at least 1"):
        _crew(llm).akickoff_for_each_iter([{"topic": "x"}], max_concurrency=0)
