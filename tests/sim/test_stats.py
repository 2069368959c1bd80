"""``GET /sim/stats`` / ``sim.stats()`` counters and ``POST /sim/reset``."""

from __future__ import annotations

import asyncio

import aiohttp

from fastcrew._json import loads
from fastcrew.sim import Simulator, serve
from fastcrew.sim.stats import SimStats

from .helpers import body, chat, post


async def get_stats(session: aiohttp.ClientSession, sim: Simulator) -> dict:
    async with session.get(sim.base_url.removesuffix("/v1") + "/sim/stats") as resp:
        assert resp.status == 200
        return loads(await resp.read())


async def test_counters(session: aiohttp.ClientSession, sim: Simulator) -> None:
    a = await chat(session, sim, text="one")
    b = await chat(session, sim, text="two", stream=False)
    await post(session, sim, b"{")
    stats = await get_stats(session, sim)
    assert stats["requests_total"] == 3
    assert stats["by_status"] == {"200": 2, "400": 1}
    assert stats["prompt_tokens"] == a["usage"]["prompt_tokens"] + b["usage"]["prompt_tokens"]
    assert stats["completion_tokens"] == 64
    assert stats["admitted"] == 2
    assert sum(stats["admitted_per_second"]) == 2
    assert stats["rate_limited"] == {"requests": 0, "tokens": 0}
    assert stats["faults"] == {"fail": 0, "reset": 0, "stall": 0, "malformed": 0}
    assert stats["quota_rejected"] == 0
    assert (stats["in_flight"], stats["peak_in_flight"]) == (0, 1)
    assert stats["uptime_s"] >= 0
    assert stats["started_at"] > 1.7e9
    local = sim.stats()
    assert {k: v for k, v in local.items() if k != "uptime_s"} == {
        k: v for k, v in stats.items() if k != "uptime_s"
    }


async def test_streamed_answers_count_their_tokens(
    session: aiohttp.ClientSession, sim: Simulator
) -> None:
    await post(session, sim, body("s", stream=True))
    stats = sim.stats()
    assert stats["by_status"] == {"200": 1}
    assert stats["completion_tokens"] == 32


async def test_peak_in_flight_with_concurrent_slow_requests() -> None:
    async with serve(latency_ms=200) as sim, aiohttp.ClientSession() as session:
        results = await asyncio.gather(*(chat(session, sim, text=f"slow {i}") for i in range(20)))
        stats = sim.stats()
    assert len(results) == 20
    assert stats["peak_in_flight"] == 20
    assert stats["in_flight"] == 0
    assert stats["by_status"] == {"200": 20}


async def test_reset_zeroes_counters_and_refills_buckets(session: aiohttp.ClientSession) -> None:
    async with serve(rpm=1, quota_after=2) as sim:
        assert (await post(session, sim, body()))[0] == 200
        assert (await post(session, sim, body()))[0] == 429
        async with session.post(sim.base_url.removesuffix("/v1") + "/sim/reset") as resp:
            assert resp.status == 200
            after = loads(await resp.read())
        assert after["requests_total"] == 0
        assert after["by_status"] == {}
        assert after["admitted_per_second"] == []
        assert (await post(session, sim, body()))[0] == 200  # bucket refilled
        sim.reset_stats()
        assert sim.stats()["requests_total"] == 0
        # the quota counts admitted requests since the last reset
        assert (await post(session, sim, body()))[0] == 200


def test_admitted_per_second_uses_whole_seconds_since_start() -> None:
    now = [100.0]
    stats = SimStats(clock=lambda: now[0])
    stats.admitted()
    now[0] = 100.9
    stats.admitted()
    now[0] = 103.2
    stats.admitted()
    assert stats.snapshot()["admitted_per_second"] == [2, 0, 0, 1]
    stats.enter()
    stats.reset()
    assert (stats.snapshot()["in_flight"], stats.snapshot()["peak_in_flight"]) == (1, 1)


async def test_tool_counters_over_http_and_reset(
    session: aiohttp.ClientSession, sim: Simulator
) -> None:
    tools = [{"type": "function", "function": {"name": n}} for n in ("a", "b")]
    messages: list[dict] = [{"role": "user", "content": "go"}]
    first = await chat(session, sim, messages=messages, tools=tools)
    message = first["choices"][0]["message"]
    messages.append(message)
    messages += [
        {"role": "tool", "tool_call_id": c["id"], "content": "ok"} for c in message["tool_calls"]
    ]
    streamed = {"messages": messages, "tools": tools, "stream": True}
    assert (await post(session, sim, streamed))[0] == 200  # a streamed final answer
    react = "Tool Name: a\nTool Arguments: {}\nUse Action: / Action Input: / Final Answer:"
    await chat(session, sim, text=react)
    stats = await get_stats(session, sim)
    counters = ("tool_call_answers", "tool_calls", "tool_results", "react_actions")
    assert [stats[k] for k in counters] == [1, 2, 2, 1]
    sim.reset_stats()
    assert [sim.stats()[k] for k in counters] == [0, 0, 0, 0]
