"""``LLM(cache=...)``: a request seen before is answered from the response cache — no
request, no rate budget, cost 0 (its would-be cost counted as saved) — plain or streamed;
any change in the request is a miss; errors are never stored."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from fastcrew import LLM, Agent, Crew, Task
from fastcrew.cache import CacheFileError, ResponseCache
from fastcrew.errors import ServerError
from fastcrew.limits import RateLimit, RetryPolicy
from fastcrew.llm import metered
from fastcrew.process_runtime import get_runtime
from fastcrew.sim import serve

UNLIMITED = RateLimit(rpm=None, tpm=None)
ONE_TRY = RetryPolicy(max_attempts=1)
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "Look a word up.",
            "parameters": {
                "type": "object",
                "properties": {"word": {"type": "string"}},
                "required": ["word"],
            },
        },
    }
]


def cached_llm(sim: Any, cache: Any, **kwargs: Any) -> LLM:
    kwargs.setdefault("retry", ONE_TRY)
    kwargs.setdefault("rate_limit", UNLIMITED)
    kwargs.setdefault("price", "1/2")  # USD per million tokens: every answer has a cost
    return LLM("openai/sim-model", base_url=sim.base_url, cache=cache, **kwargs)


def requests(sim: Any) -> int:
    return int(sim.stats()["requests_total"])


async def test_second_identical_call_is_a_hit(sim, tmp_path: Path):
    llm = cached_llm(sim, tmp_path / "c.sqlite")
    with metered() as meter:
        first = await llm.achat("What is topic-7?", max_tokens=40)
        again = await llm.achat("What is topic-7?", max_tokens=40)
    assert requests(sim) == 1
    assert first.cache == "miss"
    assert again.cache == "hit"
    assert again.content == first.content
    assert again.raw == first.raw
    assert again.usage.total_tokens == first.usage.total_tokens
    assert first.usage.cost_usd > 0
    assert again.usage.cost_usd == 0.0
    assert again.usage.priced
    assert again.saved_usd == pytest.approx(first.usage.cost_usd)
    assert (meter.requests, meter.cache_hits, meter.cache_misses) == (2, 1, 1)
    assert meter.saved_usd == pytest.approx(first.usage.cost_usd)
    assert meter.cost_usd == pytest.approx(first.usage.cost_usd)
    totals = llm.get_token_usage_summary()
    assert (totals.cache_hits, totals.cache_misses) == (1, 1)


async def test_a_hit_takes_no_rate_budget(sim, tmp_path: Path):
    """rpm=1 is spent by the first call: the second identical one does not wait a minute."""
    llm = cached_llm(sim, str(tmp_path / "c.sqlite"), rate_limit=RateLimit(rpm=1, tpm=None))
    await llm.achat("one request a minute")
    started = time.monotonic()
    hit = await llm.achat("one request a minute")
    assert time.monotonic() - started < 1.0
    assert hit.cache == "hit"
    assert requests(sim) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"messages": "What is topic-8?"},
        {"max_tokens": 41},
        {"temperature": 0.5},
        {"tools": TOOLS},
        {"model": "openai/other-model"},
    ],
)
async def test_any_change_in_the_request_is_a_miss(sim, tmp_path: Path, change: dict[str, Any]):
    path = tmp_path / "c.sqlite"
    await cached_llm(sim, path).achat("What is topic-7?", max_tokens=40)
    model = change.pop("model", "openai/sim-model")
    messages = change.pop("messages", "What is topic-7?")
    options = {"max_tokens": 40, **change}
    llm = LLM(model, base_url=sim.base_url, cache=path, retry=ONE_TRY, rate_limit=UNLIMITED)
    resp = await llm.achat(messages, **options)
    assert resp.cache == "miss"
    assert requests(sim) == 2


async def test_another_endpoint_is_a_miss(tmp_path: Path):
    path = tmp_path / "c.sqlite"
    async with serve() as a, serve() as b:
        await cached_llm(a, path).achat("same words")
        resp = await cached_llm(b, path).achat("same words")
    assert resp.cache == "miss"
    assert requests(b) == 1


async def test_streamed_hit_replays_content_and_tool_calls(sim, tmp_path: Path):
    llm = cached_llm(sim, tmp_path / "c.sqlite")
    plain = await llm.achat("Find the word apple", tools=TOOLS, tool_choice="required")
    assert plain.tool_calls
    text = await llm.achat("Tell me a long story about topic-3", max_tokens=300)
    for first, kwargs in (
        (plain, {"tools": TOOLS, "tool_choice": "required"}),
        (text, {"max_tokens": 300}),
    ):
        prompt = "Find the word apple" if first is plain else "Tell me a long story about topic-3"
        stream = await llm.achat(prompt, stream=True, **kwargs)
        pieces, fragments = [], 0
        async with stream:
            async for delta in stream:
                pieces.append(delta.content)
                fragments += len(delta.tool_calls or ())
        resp = stream.response
        assert resp.cache == "hit"
        assert "".join(pieces) == first.content == resp.content
        assert resp.tool_calls == first.tool_calls
        assert fragments == len(first.tool_calls or ())
        assert resp.usage.total_tokens == first.usage.total_tokens
        assert resp.usage.cost_usd == 0.0
        assert resp.saved_usd == pytest.approx(first.usage.cost_usd)
    assert len([p for p in pieces if p]) > 1  # the long answer came in several chunks
    assert requests(sim) == 2


async def test_streamed_miss_is_stored_whole(sim, tmp_path: Path):
    llm = cached_llm(sim, tmp_path / "c.sqlite")
    stream = await llm.achat("Find the word pear", stream=True, tools=TOOLS, tool_choice="required")
    async with stream:
        async for _ in stream:
            pass
    streamed = stream.response
    assert streamed.cache == "miss"
    assert streamed.tool_calls
    plain = await llm.achat("Find the word pear", tools=TOOLS, tool_choice="required")
    assert plain.cache == "hit"
    assert plain.tool_calls == streamed.tool_calls
    assert plain.content == streamed.content
    assert plain.finish_reason == streamed.finish_reason
    assert plain.usage.total_tokens == streamed.usage.total_tokens
    assert requests(sim) == 1


async def test_errors_are_not_cached(tmp_path: Path):
    path = tmp_path / "c.sqlite"
    async with serve(fail_rate=1.0) as failing:
        llm = cached_llm(failing, path)
        for _ in range(2):
            with pytest.raises(ServerError):
                await llm.achat("will fail")
        assert requests(failing) == 2
    cache = ResponseCache(path)
    try:
        assert cache.size().entries == 0
    finally:
        cache.close()


async def test_one_cache_object_per_path_and_explicit_objects(sim, tmp_path: Path):
    path = tmp_path / "c.sqlite"
    a, b = cached_llm(sim, path), cached_llm(sim, str(path))
    await a.achat("shared")
    assert (await b.achat("shared")).cache == "hit"
    runtime = get_runtime()
    assert runtime.cache_for(str(path), ResponseCache) is runtime.cache_for(
        str(tmp_path / "." / "c.sqlite"), ResponseCache
    )
    own = ResponseCache(tmp_path / "own.sqlite")
    try:
        llm = cached_llm(sim, own)
        await llm.achat("own cache")
        assert (await llm.achat("own cache")).cache == "hit"
        assert own.stats().hits == 1
    finally:
        own.close()


async def test_runtime_default_cache(sim, tmp_path: Path):
    runtime = get_runtime()
    runtime.cache = str(tmp_path / "default.sqlite")
    try:
        llm = cached_llm(sim, None)
        await llm.achat("from the default")
        assert (await llm.achat("from the default")).cache == "hit"
    finally:
        runtime.cache = None
    assert (await llm.achat("from the default")).cache is None


def test_a_damaged_file_fails_at_construction(tmp_path: Path):
    path = tmp_path / "bad.sqlite"
    path.write_bytes(b"not a database at all" * 100)
    with pytest.raises(CacheFileError, match="delete it"):
        LLM("openai/sim-model", base_url="http://127.0.0.1:9", cache=path)


async def test_a_crew_run_twice_sends_nothing_the_second_time(sim, tmp_path: Path):
    def crew() -> Crew:
        llm = cached_llm(sim, tmp_path / "crew.sqlite")
        agent = Agent(role="Echo", goal="Answer about {topic}", backstory="A test.", llm=llm)
        tasks = [
            Task(description=f"Step {i} on {{topic}}", expected_output="One line.", agent=agent)
            for i in range(3)
        ]
        return Crew(agents=[agent], tasks=tasks)

    first = await crew().akickoff({"topic": "caching"})
    assert requests(sim) == 3
    assert (first.token_usage.cache_hits, first.token_usage.cache_misses) == (0, 3)
    again = await crew().akickoff({"topic": "caching"})
    assert requests(sim) == 3
    assert again.raw == first.raw
    usage = again.token_usage
    assert (usage.cache_hits, usage.cache_misses, usage.successful_requests) == (3, 0, 3)
    assert usage.cost_usd == 0
    assert usage.saved_usd == pytest.approx(first.token_usage.cost_usd)
    assert usage.total_tokens == first.token_usage.total_tokens


async def test_crewai_acall_is_cached(sim, tmp_path: Path):
    llm = cached_llm(sim, tmp_path / "c.sqlite")
    text = await llm.acall("CrewAI's way in")
    assert await llm.acall("CrewAI's way in") == text
    assert requests(sim) == 1
