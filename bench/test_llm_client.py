"""Client CPU per request: fastcrew's LLM client vs a raw aiohttp POST + orjson parse.

The simulator runs in its own process (``fastcrew.sim.spawn``); the client runs here on
uvloop. Each cell sends N requests at concurrency C and records this process's CPU time per
request. Target: fastcrew ≤ 1.5x raw aiohttp at C=10 and C=500.
"""

from __future__ import annotations

import orjson
import pytest
from benchlib import best_cpu_ms, gather_bounded, ratios, raw_aiohttp

from fastcrew import LLM
from fastcrew.sim import spawn

N = {10: 4000, 500: 6000}
BODY = {"model": "sim", "messages": [{"role": "user", "content": "benchmark prompt " * 8}]}
cells: dict[tuple[str, int], float] = {}


@pytest.fixture(scope="module")
def sim():
    with spawn() as server:
        yield server


def _fastcrew(base_url: str, n: int, concurrency: int):
    async def main() -> None:
        llm = LLM("sim", base_url=base_url)
        messages = BODY["messages"]

        async def one() -> None:
            resp = await llm.achat(messages)
            assert resp.content

        await gather_bounded(n, concurrency, one)

    return main


CLIENTS = {
    "raw_aiohttp": lambda url, n, c: raw_aiohttp(url, orjson.dumps(BODY), n, c),
    "fastcrew_llm": _fastcrew,
}


@pytest.mark.parametrize("concurrency", [10, 500])
@pytest.mark.parametrize("client", list(CLIENTS))
def test_client_cpu_per_request(benchmark, sim, report, client, concurrency):
    n = N[concurrency]
    cpu_ms = best_cpu_ms(benchmark, CLIENTS[client](sim.base_url, n, concurrency), n)
    cells[(client, concurrency)] = cpu_ms
    benchmark.extra_info.update(cpu_ms_per_request=round(cpu_ms, 4), n=n, concurrency=concurrency)
    report.add(client=client, concurrency=concurrency, n=n, cpu_ms_per_request=round(cpu_ms, 4))
    report.summary.update(
        fastcrew_over_raw_aiohttp_cpu=ratios(cells, "fastcrew_llm", "raw_aiohttp"),
        target="<= 1.5",
    )
