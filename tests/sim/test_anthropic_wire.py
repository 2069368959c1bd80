"""Anthropic's Messages API on the simulator, with the official ``anthropic`` SDK as client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import aiohttp
import anthropic
import openai
import pytest

from fastcrew._json import dumps, loads
from fastcrew.sim import Simulator, serve
from fastcrew.sim.anthropic_cache import AnthropicLimits

KEY = "sim-not-a-real-key"
MODEL = "claude-sim-1"
TOOLS: list[Any] = [
    {
        "name": "get_weather",
        "description": "the weather of a city",
        "input_schema": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city", "days"],
        },
    },
    {
        "name": "lookup",
        "description": "search the notes",
        "input_schema": {
            "type": "object",
            "properties": {"query": {"type": "string"}},
            "required": ["query"],
        },
    },
]


def sdk(sim: Simulator, key: str = KEY) -> anthropic.AsyncAnthropic:
    """An SDK client of the simulator, without retries."""
    return anthropic.AsyncAnthropic(
        base_url=sim.base_url.removesuffix("/v1"), api_key=key, max_retries=0
    )


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with sdk(sim) as c:
        yield c


async def test_text_answer_matches_the_openai_wire(
    sim: Simulator, client: anthropic.AsyncAnthropic
) -> None:
    raw = await client.messages.with_raw_response.create(
        model=MODEL,
        max_tokens=200,
        system="Be brief.",
        messages=[{"role": "user", "content": "What is a kernel?"}],
        extra_body={"temperature": 0.5},
        metadata={"user_id": "u-1"},
    )
    message = await raw.parse()
    assert raw.headers["request-id"].startswith("req_")
    assert message.id.startswith("msg_")
    assert message.type == "message"
    assert (message.role, message.model, message.stop_reason) == ("assistant", MODEL, "end_turn")
    assert message.stop_sequence is None
    [block] = message.content
    assert block.type == "text"
    assert block.text.startswith("Simulated answer ")
    assert "What is a kernel?" in block.text
    assert message.usage.output_tokens == 32
    assert message.usage.input_tokens > 0
    assert (message.usage.cache_creation_input_tokens, message.usage.cache_read_input_tokens) == (
        0,
        0,
    )
    async with openai.AsyncOpenAI(base_url=sim.base_url, api_key=KEY) as oa:
        same = await oa.chat.completions.create(
            model=MODEL,
            max_tokens=200,
            messages=[
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "What is a kernel?"},
            ],
        )
    assert same.choices[0].message.content == block.text
    assert sim.stats()["by_wire"] == {"openai": 1, "azure": 0, "anthropic": 1}


async def test_tool_use_round_trip_with_tool_result(client: anthropic.AsyncAnthropic) -> None:
    messages: list[Any] = [{"role": "user", "content": "Weather in Oslo?"}]
    first = await client.messages.create(
        model=MODEL, max_tokens=500, tools=TOOLS, messages=messages
    )
    assert first.stop_reason == "tool_use"
    uses = [b for b in first.content if b.type == "tool_use"]
    assert len(uses) == 2  # parallel calls, one per tool
    assert {u.name for u in uses} == {"get_weather", "lookup"}
    for use in uses:
        assert use.id.startswith("toolu_")
        assert isinstance(use.input, dict)
        required = next(t for t in TOOLS if t["name"] == use.name)["input_schema"]["required"]
        assert set(required) <= set(use.input)
    messages += [
        {"role": "assistant", "content": [u.model_dump() for u in uses]},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": u.id, "content": f"result of {u.name}"}
                for u in uses
            ],
        },
    ]
    final = await client.messages.create(
        model=MODEL, max_tokens=500, tools=TOOLS, messages=messages
    )
    assert final.stop_reason == "end_turn"
    [text] = final.content
    assert text.type == "text"
    assert "tool results:" in text.text
    for use in uses:
        assert f"{use.name}: result of {use.name}" in text.text


async def test_tool_choice_forces_one_named_tool(client: anthropic.AsyncAnthropic) -> None:
    forced = await client.messages.create(
        model=MODEL,
        max_tokens=500,
        tools=TOOLS,
        tool_choice={"type": "tool", "name": "lookup"},
        messages=[{"role": "user", "content": "find x"}],
    )
    assert [(b.type, getattr(b, "name", None)) for b in forced.content] == [("tool_use", "lookup")]
    single = await client.messages.create(
        model=MODEL,
        max_tokens=500,
        tools=TOOLS,
        tool_choice={"type": "any", "disable_parallel_tool_use": True},
        messages=[{"role": "user", "content": "find x"}],
    )
    assert len(single.content) == 1
    assert single.stop_reason == "tool_use"
    none = await client.messages.create(
        model=MODEL,
        max_tokens=500,
        tools=TOOLS,
        tool_choice={"type": "none"},
        messages=[{"role": "user", "content": "find x"}],
    )
    assert none.stop_reason == "end_turn"
    assert none.content[0].type == "text"


async def test_stop_sequences_and_max_tokens(client: anthropic.AsyncAnthropic) -> None:
    ask: Any = [{"role": "user", "content": [{"type": "text", "text": "hello"}]}]
    stopped = await client.messages.create(
        model=MODEL, max_tokens=100, stop_sequences=["zzz", " to:"], messages=ask
    )
    assert stopped.stop_reason == "stop_sequence"
    assert stopped.stop_sequence == " to:"
    assert stopped.content[0].type == "text"
    assert stopped.content[0].text.startswith("Simulated answer ")
    assert " to:" not in stopped.content[0].text
    assert stopped.usage.output_tokens == (len(stopped.content[0].text) + 3) // 4
    cut = await client.messages.create(model=MODEL, max_tokens=3, messages=ask)
    assert cut.stop_reason == "max_tokens"
    assert cut.content[0].type == "text"
    assert len(cut.content[0].text) == 12


async def test_images_are_accepted_and_ignored(client: anthropic.AsyncAnthropic) -> None:
    image = {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}
    message = await client.messages.create(
        model=MODEL,
        max_tokens=100,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "image", "source": image},
                    {"type": "text", "text": "what is this?"},
                ],
            }
        ],
    )
    assert message.content[0].type == "text"
    assert "what is this?" in message.content[0].text


async def test_prompt_caching_creation_then_reads_within_the_ttl() -> None:
    now = [1_800_000_000.0]
    system: Any = [
        {"type": "text", "text": "policy " * 800, "cache_control": {"type": "ephemeral"}}
    ]
    ask: Any = [{"role": "user", "content": "Question one"}]
    async with serve(clock=lambda: now[0]) as sim, sdk(sim) as client:
        first = await client.messages.create(
            model=MODEL, max_tokens=50, system=system, messages=ask
        )
        prefix = first.usage.cache_creation_input_tokens
        assert prefix == 3 + (len("policy " * 800) + 3) // 4  # 1403 ≥ 1024: cacheable
        assert first.usage.cache_read_input_tokens == 0
        uncached = first.usage.input_tokens
        now[0] += 299
        second = await client.messages.create(
            model=MODEL, max_tokens=50, system=system, messages=ask
        )
        assert (second.usage.cache_creation_input_tokens, second.usage.cache_read_input_tokens) == (
            0,
            prefix,
        )
        assert second.usage.input_tokens == uncached
        now[0] += 301  # the read refreshed the entry: 301 s after it, it is gone
        third = await client.messages.create(
            model=MODEL, max_tokens=50, system=system, messages=ask
        )
        assert third.usage.cache_creation_input_tokens == prefix
        assert third.usage.cache_read_input_tokens == 0
        stats = sim.stats()
    assert stats["cache_creation_input_tokens"] == 2 * prefix
    assert stats["cache_read_input_tokens"] == prefix


async def test_short_prefixes_are_not_cached(client: anthropic.AsyncAnthropic) -> None:
    system: Any = [{"type": "text", "text": "short", "cache_control": {"type": "ephemeral"}}]
    for _ in range(2):
        message = await client.messages.create(
            model=MODEL, max_tokens=50, system=system, messages=[{"role": "user", "content": "q"}]
        )
        assert message.usage.cache_creation_input_tokens == 0
        assert message.usage.cache_read_input_tokens == 0


async def test_rate_limit_429_with_anthropic_headers() -> None:
    async with serve(rpm=1, itpm=10_000, otpm=1_000) as sim, sdk(sim) as client:
        ok = await client.messages.with_raw_response.create(
            model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "a"}]
        )
        assert ok.headers["anthropic-ratelimit-requests-limit"] == "1"
        assert ok.headers["anthropic-ratelimit-requests-remaining"] == "0"
        assert ok.headers["anthropic-ratelimit-input-tokens-limit"] == "10000"
        assert ok.headers["anthropic-ratelimit-output-tokens-limit"] == "1000"
        reset = ok.headers["anthropic-ratelimit-requests-reset"]
        assert datetime.fromisoformat(reset).tzinfo is not None  # RFC 3339, UTC
        with pytest.raises(anthropic.RateLimitError) as caught:
            await client.messages.create(
                model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "b"}]
            )
        stats = sim.stats()
    error = caught.value
    assert error.status_code == 429
    assert int(error.response.headers["retry-after"]) >= 1
    assert error.response.headers["request-id"].startswith("req_")
    assert isinstance(error.body, dict)
    assert error.body["error"]["type"] == "rate_limit_error"
    assert "50 requests" not in error.message
    assert "1 requests per minute" in error.message
    assert stats["rate_limited"]["requests"] == 1


async def test_input_token_limit_refuses_a_long_prompt() -> None:
    async with serve(itpm=100) as sim, sdk(sim) as client:
        with pytest.raises(anthropic.RateLimitError) as caught:
            await client.messages.create(
                model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "x" * 2000}]
            )
    assert "input tokens per minute" in caught.value.message


def test_output_tokens_charged_at_max_then_settled() -> None:
    now = [0.0]
    limits = AnthropicLimits(None, None, 600, clock=lambda: now[0], wall=lambda: 1e9)
    assert limits.admit(10, 500) is None
    assert limits.headers()["anthropic-ratelimit-output-tokens-remaining"] == "100"
    refusal = limits.admit(10, 200)
    assert refusal is not None
    assert refusal.kind == "output_tokens"
    assert refusal.retry_after == pytest.approx(10.0)  # 100 missing at 10 tokens/s
    limits.settle(500, 32)  # the answer used 32: 468 come back
    assert limits.headers()["anthropic-ratelimit-output-tokens-remaining"] == "568"
    assert limits.headers()["anthropic-ratelimit-output-tokens-reset"] == "2001-09-09T01:46:44Z"
    assert limits.admit(10, 200) is None


async def test_overloaded_529_and_api_error_500() -> None:
    async with serve(overloaded_rate=1.0) as sim, sdk(sim) as client:
        with pytest.raises(anthropic.OverloadedError) as caught:
            await client.messages.create(
                model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "a"}]
            )
        assert sim.stats()["overloaded"] == 1
    assert caught.value.status_code == 529
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
        "request_id": caught.value.response.headers["request-id"],
    }
    async with serve(fail_rate=1.0) as sim, sdk(sim) as client:
        with pytest.raises(anthropic.InternalServerError) as failed:
            await client.messages.create(
                model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "a"}]
            )
    assert failed.value.status_code == 500
    assert isinstance(failed.value.body, dict)
    assert failed.value.body["error"]["type"] == "api_error"


async def test_authentication_error_with_a_wrong_key() -> None:
    async with serve(api_key=KEY) as sim:
        async with sdk(sim, key="wrong") as bad:
            with pytest.raises(anthropic.AuthenticationError) as caught:
                await bad.messages.create(
                    model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "a"}]
                )
        async with sdk(sim) as good:
            message = await good.messages.create(
                model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "a"}]
            )
    assert caught.value.status_code == 401
    assert message.stop_reason in ("end_turn", "max_tokens")


async def test_missing_version_header_and_bad_bodies(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    url = f"{sim.base_url}/messages"
    good = {"model": MODEL, "max_tokens": 10, "messages": [{"role": "user", "content": "a"}]}
    async with session.post(url, data=dumps(good), headers={"x-api-key": KEY}) as resp:
        assert resp.status == 400
        assert resp.headers["request-id"].startswith("req_")
        assert loads(await resp.read()) == {
            "type": "error",
            "error": {
                "type": "invalid_request_error",
                "message": "anthropic-version: header is required",
            },
            "request_id": resp.headers["request-id"],
        }
    headers = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
    bad_bodies: list[tuple[dict[str, Any], str]] = [
        ({k: v for k, v in good.items() if k != "max_tokens"}, "max_tokens: Field required"),
        ({**good, "messages": [{"role": "system", "content": "a"}]}, "messages.0.role"),
        ({**good, "tools": [{"name": "bad name!", "input_schema": {}}]}, "tools.0.name"),
        ({**good, "tool_choice": {"type": "tool", "name": "x"}}, "tool_choice"),
        ({**good, "temperature": 1.5}, "temperature"),
    ]
    for payload, expected in bad_bodies:
        async with session.post(url, data=dumps(payload), headers=headers) as resp:
            error = loads(await resp.read())
            assert resp.status == 400, payload
            assert error["type"] == "error"
            assert error["error"]["type"] == "invalid_request_error"
            assert expected in error["error"]["message"]


async def test_top_level_cache_control_and_structured_output(
    client: anthropic.AsyncAnthropic,
) -> None:
    long_ask: Any = [{"role": "user", "content": "context " * 700}]
    created = await client.messages.create(
        model=MODEL, max_tokens=50, messages=long_ask, cache_control={"type": "ephemeral"}
    )
    read = await client.messages.create(
        model=MODEL, max_tokens=50, messages=long_ask, cache_control={"type": "ephemeral"}
    )
    assert created.usage.cache_creation_input_tokens == read.usage.cache_read_input_tokens > 0
    assert read.usage.input_tokens == 0  # the breakpoint is on the last block
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
        "required": ["name", "age"],
        "additionalProperties": False,
    }
    structured = await client.messages.create(
        model=MODEL,
        max_tokens=200,
        messages=[{"role": "user", "content": "a person"}],
        output_config={"format": {"type": "json_schema", "schema": schema}},
    )
    assert structured.content[0].type == "text"
    value = loads(structured.content[0].text)
    assert set(value) == {"name", "age"}
    assert value["age"] >= 0
