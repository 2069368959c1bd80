"""``n``: one choice per ``n``, distinct and deterministic, usage summed; streamed too."""

from __future__ import annotations

from typing import Any

import aiohttp
import openai
import pytest

from fastcrew._json import loads
from fastcrew.sim import Simulator, serve

from .helpers import body, chat, post, sse_events

TOOLS = [
    {"type": "function", "function": {"name": name, "parameters": {"type": "object"}}}
    for name in ("a", "b", "c")
]


async def test_n_choices_are_distinct_deterministic_and_summed(
    session: aiohttp.ClientSession, sim: Simulator
) -> None:
    one = await chat(session, sim, text="pick a colour")
    three = await chat(session, sim, text="pick a colour", n=3)
    choices = three["choices"]
    assert [c["index"] for c in choices] == [0, 1, 2]
    assert all(c["finish_reason"] == "stop" for c in choices)
    texts = [c["message"]["content"] for c in choices]
    assert len(set(texts)) == 3
    assert all("pick a colour" in t for t in texts)
    assert texts[0] == one["choices"][0]["message"]["content"]  # choice 0 ignores n
    again = await chat(session, sim, text="pick a colour", n=3)
    assert [c["message"]["content"] for c in again["choices"]] == texts
    usage = three["usage"]
    assert usage["prompt_tokens"] == one["usage"]["prompt_tokens"]
    assert usage["completion_tokens"] == sum((len(t) + 3) // 4 for t in texts)
    assert usage["completion_tokens"] == 3 * one["usage"]["completion_tokens"]  # same length
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    stats = sim.stats()
    assert stats["prompt_tokens"] == 3 * usage["prompt_tokens"]  # once per request
    assert stats["completion_tokens"] == 7 * one["usage"]["completion_tokens"]


async def test_n_tool_call_choices(session: aiohttp.ClientSession, sim: Simulator) -> None:
    data = await chat(session, sim, tools=TOOLS, n=2, parallel_tool_calls=False)
    calls = [c["message"]["tool_calls"] for c in data["choices"]]
    assert all(c["finish_reason"] == "tool_calls" for c in data["choices"])
    assert all(len(c) == 1 for c in calls)
    assert calls[0][0]["id"] != calls[1][0]["id"]


async def test_streamed_choices_carry_their_index(
    session: aiohttp.ClientSession, sim: Simulator
) -> None:
    plain = await chat(session, sim, text="stream me", n=2)
    fields: dict[str, Any] = {"stream": True, "stream_options": {"include_usage": True}}
    status, _, raw = await post(session, sim, body("stream me", n=2, **fields))
    assert status == 200
    events = sse_events(raw)
    assert events[-1] == "[DONE]"
    texts = ["", ""]
    finishes: list[Any] = [None, None]
    for event in events[:-2]:
        [choice] = event["choices"]
        texts[choice["index"]] += choice["delta"].get("content") or ""
        if choice["finish_reason"]:
            finishes[choice["index"]] = choice["finish_reason"]
    assert texts == [c["message"]["content"] for c in plain["choices"]]
    assert finishes == ["stop", "stop"]
    assert events[-2]["usage"] == plain["usage"]
    assert len({e["id"] for e in events[:-1]}) == 1


@pytest.mark.parametrize("n", [0, -1, 1.5, "2", True, 129])
async def test_bad_n_is_a_400_naming_n(
    session: aiohttp.ClientSession, sim: Simulator, n: Any
) -> None:
    status, _, raw = await post(session, sim, body(n=n))
    assert status == 400
    error = loads(raw)["error"]
    assert error["param"] == "n"
    assert error["type"] == "invalid_request_error"
    assert "'n' must be an integer between 1 and 128" in error["message"]


async def test_the_openai_sdk_gets_n_choices(sim: Simulator) -> None:
    messages: list[Any] = [{"role": "user", "content": "three ideas"}]
    async with openai.AsyncOpenAI(base_url=sim.base_url, api_key="k", max_retries=0) as sdk:
        completion = await sdk.chat.completions.create(model="m", messages=messages, n=3)
        assert [c.index for c in completion.choices] == [0, 1, 2]
        assert len({c.message.content for c in completion.choices}) == 3
        stream = await sdk.chat.completions.create(model="m", messages=messages, n=3, stream=True)
        streamed = ["", "", ""]
        async for chunk in stream:
            for choice in chunk.choices:
                streamed[choice.index] += choice.delta.content or ""
    assert streamed == [c.message.content for c in completion.choices]


async def test_a_tpm_limit_charges_max_tokens_per_choice(session: aiohttp.ClientSession) -> None:
    async with serve(tpm=100) as sim:  # a bucket of 100 tokens
        status, _, raw = await post(session, sim, body("x", max_tokens=40, n=3))
        assert status == 429
        message = loads(raw)["error"]["message"]
        prompt = 3 + 4 + 1
        assert f"Requested {prompt + 3 * 40}" in message
        status, _, _ = await post(session, sim, body("x", max_tokens=40))
        assert status == 200
