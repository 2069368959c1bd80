"""Anthropic's SSE stream from the simulator, read by the official SDK and as raw events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import anthropic
import pytest

from fastcrew._json import dumps, loads
from fastcrew.sim import Simulator, serve

KEY = "sim-not-a-real-key"
MODEL = "claude-sim-1"
TOOLS: list[Any] = [
    {
        "name": name,
        "description": f"the {name} tool",
        "input_schema": {
            "type": "object",
            "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}},
            "required": ["query", "limit"],
        },
    }
    for name in ("search", "fetch")
]
ASK: Any = [{"role": "user", "content": "Stream me something"}]


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[anthropic.AsyncAnthropic]:
    base = sim.base_url.removesuffix("/v1")
    async with anthropic.AsyncAnthropic(base_url=base, api_key=KEY, max_retries=0) as c:
        yield c


def sse(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    """``(event name, data)`` of each SSE event; the name must match ``data.type``."""
    events = []
    for block in raw.decode().split("\n\n"):
        if not block:
            continue
        name_line, data_line = block.split("\n")
        name = name_line.removeprefix("event: ")
        data = loads(data_line.removeprefix("data: "))
        assert data["type"] == name
        events.append((name, data))
    return events


async def test_text_stream_concatenates_to_the_plain_answer(
    sim: Simulator, client: anthropic.AsyncAnthropic
) -> None:
    plain = await client.messages.create(model=MODEL, max_tokens=100, messages=ASK)
    pieces: list[str] = []
    async with client.messages.stream(model=MODEL, max_tokens=100, messages=ASK) as stream:
        async for text in stream.text_stream:
            pieces.append(text)
        final = await stream.get_final_message()
    assert len(pieces) == 32  # one delta per estimated token
    assert "".join(pieces) == plain.content[0].text  # type: ignore[union-attr]
    assert final.model_dump() == plain.model_dump()
    assert sim.stats()["by_wire"]["anthropic"] == 2
    assert sim.stats()["completion_tokens"] == 64


async def test_raw_event_sequence(sim: Simulator, session: aiohttp.ClientSession) -> None:
    payload = {"model": MODEL, "max_tokens": 100, "messages": ASK, "stream": True}
    headers = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
    async with session.post(f"{sim.base_url}/messages", data=dumps(payload), headers=headers) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/event-stream")
        assert r.headers["request-id"].startswith("req_")
        events = sse(await r.read())
    names = [name for name, _ in events]
    assert names[:4] == ["message_start", "ping", "content_block_start", "content_block_delta"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    start = events[0][1]["message"]
    assert (start["content"], start["stop_reason"], start["role"]) == ([], None, "assistant")
    assert start["usage"]["input_tokens"] > 0
    delta = events[-2][1]
    assert delta["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert delta["usage"]["output_tokens"] == 32
    deltas = [d["delta"] for n, d in events if n == "content_block_delta"]
    assert {d["type"] for d in deltas} == {"text_delta"}


async def test_streamed_parallel_tool_use(client: anthropic.AsyncAnthropic) -> None:
    plain = await client.messages.create(model=MODEL, max_tokens=300, messages=ASK, tools=TOOLS)
    seen: list[str] = []
    async with client.messages.stream(
        model=MODEL, max_tokens=300, messages=ASK, tools=TOOLS
    ) as stream:
        async for event in stream:
            if event.type == "content_block_start":
                seen.append(event.content_block.type)
            if event.type == "content_block_delta":
                assert event.delta.type == "input_json_delta"
        final = await stream.get_final_message()
    assert seen == ["tool_use", "tool_use"]
    assert final.stop_reason == "tool_use"
    assert [b.model_dump() for b in final.content] == [b.model_dump() for b in plain.content]
    for block in final.content:
        assert block.type == "tool_use"
        assert set(block.input) >= {"query", "limit"}


async def test_stream_reports_cache_usage_and_stop_sequences() -> None:
    system: Any = [{"type": "text", "text": "rule " * 1000, "cache_control": {"type": "ephemeral"}}]
    async with serve() as sim:
        base = sim.base_url.removesuffix("/v1")
        async with anthropic.AsyncAnthropic(base_url=base, api_key=KEY, max_retries=0) as client:
            for expected in ("creation", "read"):
                async with client.messages.stream(
                    model=MODEL,
                    max_tokens=100,
                    system=system,
                    messages=ASK,
                    stop_sequences=[" to:"],
                ) as stream:
                    final = await stream.get_final_message()
                usage = final.usage
                created, read = usage.cache_creation_input_tokens, usage.cache_read_input_tokens
                assert (created > 0, read > 0) == (expected == "creation", expected == "read")
                assert final.stop_reason == "stop_sequence"
                assert final.stop_sequence == " to:"


async def test_malformed_stream() -> None:
    async with serve(malformed_rate=1.0) as sim:
        base = sim.base_url.removesuffix("/v1")
        async with anthropic.AsyncAnthropic(base_url=base, api_key=KEY, max_retries=0) as client:
            with pytest.raises(json.JSONDecodeError):  # the broken data line
                async with client.messages.stream(
                    model=MODEL, max_tokens=10, messages=ASK
                ) as stream:
                    await stream.get_final_message()
        assert sim.stats()["faults"]["malformed"] == 1
