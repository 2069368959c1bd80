"""Client CPU per single-task crew (``akickoff``) vs a raw aiohttp POST + orjson parse.

The simulator (zero latency) runs in its own process; the client runs here on uvloop. Each
cell runs N crews (or N raw POSTs of the very body the crew sends) at concurrency C and
records this process's CPU time per crew. Target: fastcrew ≤ 2x raw aiohttp.
(CrewAI 1.15.30 measured 25-52 ms per crew on the same kind of machine.)
"""

from __future__ import annotations

import orjson
import pytest
from benchlib import best_cpu_ms, ratios, raw_aiohttp
from runtime_common import gather_bounded, one_task_crew

from fastcrew._loop import run
from fastcrew.sim import spawn

N = {10: 4000, 500: 6000}
INPUTS = {"topic": "solid-state batteries"}
cells: dict[tuple[str, int], float] = {}


@pytest.fixture(scope="module")
def sim():
    with spawn() as server:
        yield server


@pytest.fixture(scope="module")
def body(sim) -> bytes:
    """The exact request body a crew run sends (system + user message)."""
    crew = one_task_crew(sim.base_url)
    out = run(crew.akickoff(INPUTS))
    return orjson.dumps({"model": "sim", "messages": out.tasks_output[0].messages[:2]})


def _crew(base_url: str, body: bytes, n: int, concurrency: int):
    crew = one_task_crew(base_url)

    async def main() -> None:
        async def one() -> None:
            out = await crew.akickoff(INPUTS)
            assert out.raw

        await gather_bounded(n, concurrency, one)

    return main


CLIENTS = {"raw_aiohttp": raw_aiohttp, "fastcrew_akickoff": _crew}


@pytest.mark.parametrize("concurrency", [10, 500])
@pytest.mark.parametrize("client", list(CLIENTS))
def test_client_cpu_per_crew(benchmark, sim, body, report, client, concurrency):
    n = N[concurrency]
    cpu_ms = best_cpu_ms(benchmark, CLIENTS[client](sim.base_url, body, n, concurrency), n)
    cells[(client, concurrency)] = cpu_ms
    benchmark.extra_info.update(cpu_ms_per_crew=round(cpu_ms, 4), n=n, concurrency=concurrency)
    report.add(client=client, concurrency=concurrency, n=n, cpu_ms_per_crew=round(cpu_ms, 4))
    report.summary.update(
        fastcrew_crew_over_raw_aiohttp_cpu=ratios(cells, "fastcrew_akickoff", "raw_aiohttp"),
        cpu_ms_per_crew={f"{k[0]}@C={k[1]}": round(v, 4) for k, v in cells.items()},
        target="<= 2",
        crewai_1_15_30_ms_per_crew="25-52",
    )
