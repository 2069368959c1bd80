"""The response cache for Anthropic's and Azure's LLMs, against the simulator: a hit sends
nothing (the simulator's counters do not move), plain or streamed; the key is the URL and the
whole request sent, so another model, parameter, version or endpoint is a miss."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fastcrew import LLM
from fastcrew.cache import ResponseCache
from fastcrew.errors import ServerError
from fastcrew.llm import ChatStream
from fastcrew.process_runtime import get_runtime
from fastcrew.sim import Simulator, serve

from .test_cache_calls import ONE_TRY, TOOLS, UNLIMITED

MODEL = "anthropic/claude-sonnet-4-5"
WITH_SYSTEM = [
    {"role": "system", "content": "Terse."},
    {"role": "user", "content": "What is a tide?"},
]


def claude(sim: Simulator, cache: Any, model: str = MODEL, **kwargs: Any) -> LLM:
    kwargs.setdefault("retry", ONE_TRY)
    kwargs.setdefault("rate_limit", UNLIMITED)
    kwargs.setdefault("price", "3/15")  # USD per million tokens: every answer has a cost
    return LLM(model, base_url=sim.base_url, api_key="sk-ant-test", cache=cache, **kwargs)


def azure(sim: Simulator, cache: Any, version: str = "2024-10-21", **kwargs: Any) -> LLM:
    kwargs.setdefault("price", "1/2")
    base = sim.base_url.removesuffix("/v1")
    return LLM("azure/prod", base_url=base, api_key="az-key", api_version=version, cache=cache,
               rate_limit=UNLIMITED, retry=ONE_TRY, **kwargs)  # fmt: skip


def sent(sim: Simulator, wire: str) -> int:
    stats = sim.stats()
    assert stats["requests_total"] == stats["by_wire"][wire]
    return int(stats["by_wire"][wire])


async def read(stream: ChatStream) -> tuple[list[str], int]:
    """The stream's text pieces and how many tool-call fragments it gave."""
    pieces, fragments = [], 0
    async with stream:
        async for delta in stream:
            pieces.append(delta.content)
            fragments += len(delta.tool_calls or ())
    return pieces, fragments


async def test_a_second_identical_call_is_answered_without_a_request(sim, tmp_path: Path):
    llm = claude(sim, tmp_path / "c.sqlite")
    first = await llm.achat("What is topic-7?", max_tokens=60)
    again = await llm.achat("What is topic-7?", max_tokens=60)
    assert sent(sim, "anthropic") == 1
    assert (first.cache, again.cache) == ("miss", "hit")
    assert again.content == first.content
    assert again.finish_reason == first.finish_reason == "stop"
    assert again.raw == first.raw  # the Messages body, as Anthropic sent it
    assert again.raw is not None
    assert b'"type":"message"' in again.raw
    assert again.usage.total_tokens == first.usage.total_tokens
    assert again.usage.cost_usd == 0.0
    assert first.usage.cost_usd > 0
    assert again.saved_usd == pytest.approx(first.usage.cost_usd)
    summary = llm.get_token_usage_summary()
    assert (summary.cache_hits, summary.cache_misses) == (1, 1)


async def test_a_streamed_hit_replays_the_stored_answer_as_a_stream(sim, tmp_path: Path):
    llm = claude(sim, tmp_path / "c.sqlite")
    plain = await llm.achat("Find the word apple", tools=TOOLS, tool_choice="required")
    long = await llm.achat("Tell me a long story about topic-3", max_tokens=300)
    assert plain.tool_calls
    for first, prompt, kwargs in (
        (plain, "Find the word apple", {"tools": TOOLS, "tool_choice": "required"}),
        (long, "Tell me a long story about topic-3", {"max_tokens": 300}),
    ):
        stream = await llm.achat(prompt, stream=True, **kwargs)
        pieces, fragments = await read(stream)
        resp = stream.response
        assert resp.cache == "hit"
        assert "".join(pieces) == first.content == resp.content
        assert resp.tool_calls == first.tool_calls
        assert fragments == len(first.tool_calls or ())
        assert resp.finish_reason == first.finish_reason
        assert resp.usage.total_tokens == first.usage.total_tokens
        assert resp.usage.cost_usd == 0.0
        assert resp.saved_usd == pytest.approx(first.usage.cost_usd)
    assert len([p for p in pieces if p]) > 1  # the long answer came in several chunks
    assert sent(sim, "anthropic") == 2


async def test_a_streamed_miss_is_stored_and_answers_plain_and_streamed_calls(sim, tmp_path: Path):
    llm = claude(sim, tmp_path / "c.sqlite")
    stream = await llm.achat("Find the word pear", stream=True, tools=TOOLS, tool_choice="auto")
    await read(stream)
    streamed = stream.response
    assert streamed.cache == "miss"
    assert streamed.tool_calls
    plain = await llm.achat("Find the word pear", tools=TOOLS, tool_choice="auto")
    again = await llm.achat("Find the word pear", stream=True, tools=TOOLS, tool_choice="auto")
    await read(again)
    for hit in (plain, again.response):
        assert hit.cache == "hit"
        assert hit.tool_calls == streamed.tool_calls
        assert hit.content == streamed.content
        assert hit.finish_reason == streamed.finish_reason == "tool_calls"
        assert hit.usage.total_tokens == streamed.usage.total_tokens
    assert sent(sim, "anthropic") == 1


@pytest.mark.parametrize(
    ("model", "change"),
    [
        ("anthropic/claude-haiku-4-5", {}),
        (MODEL, {"max_tokens": 61}),
        (MODEL, {"temperature": 0.5}),
        (MODEL, {"stop": ["END"]}),
        (MODEL, {"tools": TOOLS}),
        (MODEL, {"messages": WITH_SYSTEM}),
    ],
)
async def test_another_model_or_request_is_a_miss(
    sim, tmp_path: Path, model: str, change: dict[str, Any]
):
    path = tmp_path / "c.sqlite"
    await claude(sim, path).achat("What is a tide?", max_tokens=60)
    options = {"max_tokens": 60, **change}
    messages = options.pop("messages", "What is a tide?")
    resp = await claude(sim, path, model).achat(messages, **options)
    assert resp.cache == "miss"
    assert sent(sim, "anthropic") == 2


async def test_the_key_is_the_messages_body_sent(sim, tmp_path: Path):
    # ``seed`` is not part of Anthropic's request: the same body is sent, so the same answer.
    llm = claude(sim, tmp_path / "c.sqlite")
    await llm.achat("What is a dune?")
    resp = await llm.achat("What is a dune?", seed=7)
    assert resp.cache == "hit"
    assert sent(sim, "anthropic") == 1


async def test_another_endpoint_or_wire_is_a_miss(tmp_path: Path):
    path = tmp_path / "c.sqlite"
    async with serve() as a, serve() as b:
        await claude(a, path).achat("same words")
        assert (await claude(b, path).achat("same words")).cache == "miss"
        openai = LLM("openai/claude-sonnet-4-5", base_url=a.base_url, cache=path)
        assert (await openai.achat("same words")).cache == "miss"
        assert a.stats()["by_wire"] == {"openai": 1, "azure": 0, "anthropic": 1}
        assert sent(b, "anthropic") == 1


async def test_errors_are_not_stored(tmp_path: Path):
    path = tmp_path / "c.sqlite"
    async with serve(overloaded_rate=1.0) as failing:
        llm = claude(failing, path)
        for _ in range(2):
            with pytest.raises(ServerError):
                await llm.achat("will fail")
        assert sent(failing, "anthropic") == 2
    cache = ResponseCache(path)
    try:
        assert cache.size().entries == 0
    finally:
        cache.close()


async def test_the_runtime_default_cache_covers_anthropic(sim, tmp_path: Path):
    runtime = get_runtime()
    runtime.cache = str(tmp_path / "default.sqlite")
    try:
        llm = claude(sim, None)
        assert (await llm.achat("from the default")).cache == "miss"
        assert (await llm.achat("from the default")).cache == "hit"
    finally:
        runtime.cache = None
    assert sent(sim, "anthropic") == 1


async def test_azure_calls_are_cached_plain_and_streamed(sim, tmp_path: Path):
    path = tmp_path / "c.sqlite"
    llm = azure(sim, path)
    first = await llm.achat("What is a fjord?")
    again = await llm.achat("What is a fjord?")
    stream = await llm.achat("What is a fjord?", stream=True)
    pieces, _ = await read(stream)
    assert (first.cache, again.cache, stream.response.cache) == ("miss", "hit", "hit")
    assert again.raw == first.raw
    assert "".join(pieces) == first.content
    assert first.usage.cost_usd > 0
    assert again.saved_usd == pytest.approx(first.usage.cost_usd)
    # The key has the deployment path and api-version, not the api-key.
    other_key = LLM("azure/prod", base_url=sim.base_url.removesuffix("/v1"), api_key="az-other",
                    api_version="2024-10-21", cache=path)  # fmt: skip
    assert (await other_key.achat("What is a fjord?")).cache == "hit"
    assert (await azure(sim, path, "2025-01-01-preview").achat("What is a fjord?")).cache == "miss"
    assert sent(sim, "azure") == 2
