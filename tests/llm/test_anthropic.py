"""``LLM("anthropic/<model>")`` natively, against the simulator's ``POST /v1/messages``."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import BaseModel

from fastcrew import LLM, Agent, Crew, RateLimit, RetryPolicy, Task, errors
from fastcrew.limits import SharedBudget
from fastcrew.limits.source import LocalBudget
from fastcrew.sim import Simulator, serve
from fastcrew.tools import tool

KEY = "sk-ant-sim-key-000000000000"
MODEL = "anthropic/claude-sonnet-4-5"
FAST_RETRY = RetryPolicy(max_attempts=10, base_delay=0.001, max_delay=0.01)


def claude(sim: Simulator, **kwargs: Any) -> LLM:
    kwargs.setdefault("api_key", KEY)
    return LLM(MODEL, base_url=sim.base_url.removesuffix("/v1"), **kwargs)


async def test_a_plain_call_goes_to_v1_messages_and_reads_back() -> None:
    async with serve(api_key=KEY) as sim:
        llm = claude(sim)
        answer = await llm.achat([{"role": "system", "content": "Terse."},
                                  {"role": "user", "content": "hi"}])  # fmt: skip
        text = await llm.acall("say hi")
        stats = sim.stats()
    assert llm._url == sim.base_url + "/messages"
    assert answer.content
    assert text
    assert answer.finish_reason == "stop"
    assert answer.request_id
    assert answer.request_id.startswith("req_")
    assert answer.raw is not None
    assert b'"type":"message"' in answer.raw
    assert answer.usage.prompt_tokens > 0
    assert answer.usage.completion_tokens > 0
    assert answer.usage.priced
    assert answer.usage.cost_usd > 0
    assert stats["by_wire"]["anthropic"] == stats["requests_total"] == 2


async def test_a_base_url_ending_in_v1_works_too() -> None:
    async with serve(api_key=KEY) as sim:
        llm = LLM(MODEL, base_url=sim.base_url, api_key=KEY)
        assert (await llm.achat("hi")).content
    assert llm._url.endswith("/v1/messages")


async def test_streaming_gives_the_same_deltas_and_usage() -> None:
    async with serve(api_key=KEY) as sim:
        llm = claude(sim)
        plain = await llm.achat("stream me")
        pieces: list[str] = []
        async with await llm.achat("stream me", stream=True) as stream:
            async for delta in stream:
                pieces.append(delta.content)
    assert len([p for p in pieces if p]) > 1
    assert "".join(pieces) == stream.response.content == plain.content
    assert stream.response.usage.completion_tokens == plain.usage.completion_tokens
    assert stream.response.finish_reason == "stop"


async def test_tool_calls_plain_and_streamed() -> None:
    tools = [{"type": "function", "function": {"name": "lookup", "description": "Look up.",
              "parameters": {"type": "object", "properties": {"q": {"type": "string"}},
                             "required": ["q"]}}}]  # fmt: skip
    async with serve(api_key=KEY) as sim:
        llm = claude(sim)
        answer = await llm.achat("use it", tools=tools, tool_choice="required")
        async with await llm.achat("use it", tools=tools, tool_choice="required", stream=True) as s:
            async for _ in s:
                pass
    [call] = answer.tool_calls or []
    assert call["id"].startswith("toolu_")
    assert call["function"]["name"] == "lookup"
    assert answer.finish_reason == "tool_calls"
    assert s.response.tool_calls == answer.tool_calls


@tool("Word Counter")
def count_words(text: str) -> str:
    """Counts the words of a text."""
    return f"COUNTED {len(text.split())}"


async def test_a_tool_round_trip_through_an_agent_and_crew() -> None:
    async with serve(api_key=KEY, tool_rounds=1, parallel_calls=1) as sim:
        agent = Agent(role="Researcher", goal="Find facts", backstory="Careful.", llm=claude(sim),
                      tools=[count_words])  # fmt: skip
        task = Task(description="Research {topic}", expected_output="Facts", agent=agent)
        out = await Crew(agents=[agent], tasks=[task]).akickoff({"topic": "batteries"})
        stats = sim.stats()
    assert "COUNTED" in out.raw
    assert stats["tool_calls"] == stats["tool_results"] == 1
    assert stats["by_wire"]["anthropic"] == stats["requests_total"] == 2


class Fact(BaseModel):
    title: str
    n: int


async def test_structured_output_through_a_forced_tool() -> None:
    async with serve(api_key=KEY) as sim:
        llm = claude(sim)
        fact = await llm.acall("a fact", response_model=Fact)
        async with await llm.achat("a fact", response_format=Fact, stream=True) as s:
            async for _ in s:
                pass
    assert isinstance(fact, Fact)
    assert Fact.model_validate_json(s.response.content)
    assert s.response.tool_calls is None
    assert s.response.finish_reason == "stop"


async def test_a_wrong_key_is_an_authentication_error_without_the_key() -> None:
    async with serve(api_key=KEY) as sim:
        with pytest.raises(errors.AuthenticationError) as info:
            await claude(sim, api_key="sk-ant-wrong-key-123456").achat("x")
    assert info.value.status == 401
    assert info.value.error
    assert info.value.error["type"] == "authentication_error"
    assert "wrong-key" not in str(info.value) + repr(info.value.body)


async def test_429s_and_529s_are_retried() -> None:
    async with serve(api_key=KEY, overloaded_rate=0.5, seed=3) as sim:
        llm = claude(sim, retry=FAST_RETRY)
        answers = await asyncio.gather(*(llm.achat(f"o{i}") for i in range(10)))
        stats = sim.stats()
    assert stats["by_status"].get("529", 0) == sum(a.retries for a in answers) > 0
    async with serve(api_key=KEY, rpm=6000, limit_window_s=0.01) as sim:
        llm = claude(sim, retry=FAST_RETRY)
        answers = await asyncio.gather(*(llm.achat(f"r{i}") for i in range(20)))
        stats = sim.stats()
    limited = stats["by_status"].get("429", 0)
    assert limited == sum(a.retries for a in answers) > 0
    assert llm.limiter().stats.rate_limited == limited


async def test_the_limiter_learns_anthropics_headers() -> None:
    async with serve(api_key=KEY, rpm=1000, itpm=100_000, otpm=20_000) as sim:
        llm = claude(sim, rate_limit=RateLimit())  # auto: learned from the headers
        answers = [await llm.achat(f"call {i}") for i in range(3)]
    assert [a.rate_limits.remaining_requests for a in answers] == [999, 998, 997]
    assert all(a.rate_limits.remaining_input_tokens for a in answers)
    assert all(a.rate_limits.remaining_output_tokens for a in answers)
    assert all(0 <= (a.rate_limits.reset_requests or 0) <= 60 for a in answers)
    source = llm.limiter().source
    budget = source.budget if isinstance(source, SharedBudget) else source
    assert isinstance(budget, LocalBudget)
    assert budget.requests is not None
    assert budget.input is not None
    assert budget.output is not None
    assert budget.tokens is None  # no combined budget: input and output are separate
    assert budget.requests.rate == pytest.approx(1000 / 60)
    assert budget.input.rate == pytest.approx(100_000 / 60)
    assert budget.output.rate == pytest.approx(20_000 / 60)


async def test_the_system_prompt_is_cached_and_the_cache_tokens_priced() -> None:
    system = "You are a careful researcher. " * 200  # well over the cache minimum
    messages = [{"role": "system", "content": system}, {"role": "user", "content": "q"}]
    async with serve(api_key=KEY) as sim:
        llm = claude(sim)
        first = await llm.achat(messages)
        second = await llm.achat(messages)
    assert first.usage.cache_write_tokens > 0
    assert first.usage.cached_prompt_tokens == 0
    assert second.usage.cached_prompt_tokens == first.usage.cache_write_tokens
    assert second.usage.prompt_tokens == first.usage.prompt_tokens
    assert second.usage.priced
    assert second.usage.cost_usd < first.usage.cost_usd
