"""The seed's hands-on exercise: two crews in two ``@start()`` methods joined with ``and_``,
at 500 ms simulator latency. Wall of the flow vs one crew alone (ideal ratio 1.0) and vs the
same two crews chained (``@listen(crew_a)``, ratio ~2.0).

The simulator runs in its own process; each round is a fresh event loop (as ``kickoff()``
makes), so connections are opened in every round, as a script's would be.
"""

from __future__ import annotations

import time

import pytest
from pydantic import BaseModel

from fastcrew import LLM, Agent, Crew, Process, Task
from fastcrew._loop import run
from fastcrew.flow import Flow, and_, listen, start
from fastcrew.sim import spawn

LATENCY_S = 0.5
walls: dict[str, float] = {}
BASE_URL: dict[str, str] = {}


@pytest.fixture(scope="module")
def sim():
    with spawn(latency_ms=LATENCY_S * 1000) as server:
        BASE_URL["url"] = server.base_url
        yield server


def _crew(role: str, topic: str) -> Crew:
    agent = Agent(
        role=role,
        goal=f"Analyze {topic}",
        backstory=f"Expert {role.lower()}.",
        llm=LLM("sim", base_url=BASE_URL["url"]),
    )
    task = Task(
        description=f"Write a 100-word summary of AI {topic}",
        expected_output="A concise summary",
        agent=agent,
    )
    return Crew(agents=[agent], tasks=[task], process=Process.sequential)


class ParallelState(BaseModel):
    result_a: str = ""
    result_b: str = ""


class ParallelFlow(Flow[ParallelState]):
    @start()
    async def crew_a(self):
        self.state.result_a = (await _crew("Market Analyst", "market trends").akickoff()).raw

    @start()
    async def crew_b(self):
        self.state.result_b = (await _crew("Tech Analyst", "technology trends").akickoff()).raw

    @listen(and_(crew_a, crew_b))
    def combine(self):
        return len(self.state.result_a.split()) + len(self.state.result_b.split())


class SequentialFlow(Flow[ParallelState]):
    @start()
    async def crew_a(self):
        self.state.result_a = (await _crew("Market Analyst", "market trends").akickoff()).raw

    @listen(crew_a)
    async def crew_b(self):
        self.state.result_b = (await _crew("Tech Analyst", "technology trends").akickoff()).raw

    @listen(crew_b)
    def combine(self):
        return len(self.state.result_a.split()) + len(self.state.result_b.split())


def _one_crew():
    return _crew("Market Analyst", "market trends").akickoff()


VARIANTS = {
    "one crew (akickoff)": _one_crew,
    "ParallelFlow (and_ join)": lambda: ParallelFlow().akickoff(),
    "SequentialFlow (chained)": lambda: SequentialFlow().akickoff(),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_parallel_starts_wall(benchmark, sim, report, variant):
    make = VARIANTS[variant]
    samples: list[float] = []

    def once() -> None:
        sim.reset_stats()
        started = time.perf_counter()
        run(make())
        samples.append(time.perf_counter() - started)

    benchmark.pedantic(once, rounds=5, iterations=1)
    if variant.startswith("ParallelFlow"):
        assert sim.stats()["peak_in_flight"] == 2
    wall = min(samples)
    walls[variant] = wall
    benchmark.extra_info.update(wall_s=round(wall, 4))
    report.add(variant=variant, wall_s=round(wall, 4), median_s=round(sorted(samples)[2], 4))
    one = walls.get("one crew (akickoff)")
    report.summary.update(
        latency_s=LATENCY_S,
        walls_s={k: round(v, 4) for k, v in walls.items()},
        parallel_over_one_crew=round(walls["ParallelFlow (and_ join)"] / one, 3)
        if one and "ParallelFlow (and_ join)" in walls
        else None,
        sequential_over_one_crew=round(walls["SequentialFlow (chained)"] / one, 3)
        if one and "SequentialFlow (chained)" in walls
        else None,
        target="parallel ≈ one crew (ratio ≈ 1), sequential ≈ 2",
    )
