"""Client CPU per Anthropic call: ``LLM("anthropic/...")`` vs a raw aiohttp POST + orjson parse.

The raw baseline POSTs the very Messages body fastcrew sends (``to_messages_body`` of the
OpenAI-shaped body, built once) to the simulator's ``/v1/messages`` with Anthropic's headers.
The simulator runs in its own process (``fastcrew.sim.spawn``); the client runs here on
uvloop. Each cell sends N requests at concurrency C and records this process's CPU time per
request. Target: fastcrew ≤ 1.3x raw aiohttp at C=10 and C=500.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import orjson
import pytest
from benchlib import Report, best_cpu_ms, gather_bounded, ratios, raw_aiohttp

from fastcrew import LLM
from fastcrew.llm.anthropic import ANTHROPIC_VERSION, to_messages_body
from fastcrew.sim import SpawnedSim, spawn

N = {10: 4000, 500: 6000}
MODEL = "claude-sonnet-4-5"
KEY = "sk-ant-test"
MESSAGES = [{"role": "user", "content": "benchmark prompt " * 8}]
BODY = to_messages_body(orjson.dumps({"model": MODEL, "messages": MESSAGES}))
HEADERS = {"x-api-key": KEY, "anthropic-version": ANTHROPIC_VERSION}
cells: dict[tuple[str, int], float] = {}
Run = Callable[[], Coroutine[Any, Any, None]]


@pytest.fixture(scope="module")
def sim() -> Iterator[SpawnedSim]:
    with spawn(api_key=KEY) as server:
        yield server


def _answered(data: Any) -> None:
    assert data["content"][0]["text"]


def _raw(base_url: str, n: int, concurrency: int) -> Run:
    root = base_url.removesuffix("/v1")
    return raw_aiohttp(
        root, BODY, n, concurrency, path="/v1/messages", headers=HEADERS, check=_answered
    )


def _fastcrew(base_url: str, n: int, concurrency: int) -> Run:
    async def main() -> None:
        llm = LLM(f"anthropic/{MODEL}", base_url=base_url, api_key=KEY)

        async def one() -> None:
            resp = await llm.achat(MESSAGES)
            assert resp.content

        await gather_bounded(n, concurrency, one)

    return main


CLIENTS: dict[str, Callable[[str, int, int], Run]] = {
    "raw_aiohttp": _raw,
    "fastcrew_anthropic": _fastcrew,
}


@pytest.mark.parametrize("concurrency", [10, 500])
@pytest.mark.parametrize("client", list(CLIENTS))
def test_anthropic_client_cpu_per_call(
    benchmark: Any, sim: SpawnedSim, report: Report, client: str, concurrency: int
) -> None:
    n = N[concurrency]
    cpu_ms = best_cpu_ms(benchmark, CLIENTS[client](sim.base_url, n, concurrency), n)
    cells[(client, concurrency)] = cpu_ms
    benchmark.extra_info.update(cpu_ms_per_request=round(cpu_ms, 4), n=n, concurrency=concurrency)
    report.add(client=client, concurrency=concurrency, n=n, cpu_ms_per_request=round(cpu_ms, 4))
    report.summary.update(
        fastcrew_over_raw_aiohttp_cpu=ratios(cells, "fastcrew_anthropic", "raw_aiohttp"),
        target="<= 1.3",
    )
