"""``LLM("anthropic/...")`` against an independent fake of Anthropic's Messages wire.

The fake is written from Anthropic's documented formats (Messages API reference, streaming,
errors, rate-limit headers), not from ``fastcrew.sim``: it records what arrives and answers
with the next scripted reply.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from loopback import start_app

from fastcrew import LLM, RetryPolicy, errors

KEY = "sk-ant-fake-key-1234567890"
FAST_RETRY = RetryPolicy(max_attempts=4, base_delay=0.001, max_delay=0.01)


def message(*blocks: dict[str, Any], stop: str = "end_turn") -> dict[str, Any]:
    return {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": list(blocks) or [{"type": "text", "text": "Hi from Claude"}],
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {
            "input_tokens": 10,
            "cache_creation_input_tokens": 100,
            "cache_read_input_tokens": 1000,
            "output_tokens": 7,
        },
    }


def error(kind: str, text: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": text}}


def sse(*events: dict[str, Any]) -> str:
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)


STREAM = sse(
    {"type": "message_start", "message": {**message(), "content": [], "stop_reason": None,
                                          "usage": {"input_tokens": 10, "output_tokens": 1}}},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "ping"},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "lo"}},
    {"type": "content_block_stop", "index": 0},
    {"type": "content_block_start", "index": 1, "content_block": {
        "type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {}}},
    {"type": "content_block_delta", "index": 1,
     "delta": {"type": "input_json_delta", "partial_json": '{"city": '}},
    {"type": "content_block_delta", "index": 1,
     "delta": {"type": "input_json_delta", "partial_json": '"Paris"}'}},
    {"type": "content_block_stop", "index": 1},
    {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
     "usage": {"output_tokens": 15}},
    {"type": "message_stop"},
)  # fmt: skip


@dataclass
class FakeAnthropic:
    """Received requests and the replies still to send (then: a plain message)."""

    url: str = ""
    seen: list[web.Request] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    replies: list[tuple[int, Any, dict[str, str]]] = field(default_factory=list)

    async def messages(self, request: web.Request) -> web.Response:
        self.seen.append(request)
        self.bodies.append(await request.json())
        if request.headers.get("x-api-key") != KEY:
            return web.json_response(error("authentication_error", "invalid x-api-key"), status=401)
        status, body, headers = self.replies.pop(0) if self.replies else (200, message(), {})
        headers = {"request-id": "req_fake01", **headers}
        if isinstance(body, str):
            return web.Response(text=body, content_type="text/event-stream", headers=headers)
        return web.Response(
            status=status, text=json.dumps(body), content_type="application/json", headers=headers
        )


@pytest.fixture
async def fake() -> AsyncIterator[FakeAnthropic]:
    state = FakeAnthropic()
    app = web.Application()
    app.router.add_post("/v1/messages", state.messages)
    runner, state.url = await start_app(app)
    yield state
    await runner.cleanup()


def llm(fake: FakeAnthropic, **kwargs: Any) -> LLM:
    kwargs.setdefault("api_key", KEY)
    kwargs.setdefault("base_url", fake.url)
    return LLM("anthropic/claude-sonnet-4-5", **kwargs)


TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather.",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}},
         {"name": "flat_tool", "description": "CrewAI's flat form.",
          "parameters": {"type": "object", "properties": {}}}]  # fmt: skip
HISTORY = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "content": None, "tool_calls": [{"id": "toolu_01", "type": "function",
     "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
    {"role": "tool", "tool_call_id": "toolu_01", "content": "Sunny, 21C"},
]  # fmt: skip


async def test_url_and_headers(fake: FakeAnthropic) -> None:
    for base in (fake.url, fake.url + "/v1", fake.url + "/"):
        assert (await llm(fake, base_url=base).achat("hi")).content == "Hi from Claude"
    for request in fake.seen:
        assert request.path == "/v1/messages"
        assert request.headers["x-api-key"] == KEY
        assert request.headers["anthropic-version"] == "2023-06-01"
        assert "Authorization" not in request.headers
    assert KEY not in repr(llm(fake))


async def test_the_request_body_is_translated(fake: FakeAnthropic) -> None:
    await llm(fake, temperature=0.2, stop=["END"]).achat(
        HISTORY, tools=TOOLS, tool_choice={"type": "function", "function": {"name": "get_weather"}}
    )
    body = fake.bodies[0]
    assert body["model"] == "claude-sonnet-4-5"
    assert body["max_tokens"] == 4096
    assert body["temperature"] == 0.2
    assert body["stop_sequences"] == ["END"]
    assert body["system"] == [
        {"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}
    ]
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_01",
                                           "name": "get_weather", "input": {"city": "Paris"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01",
                                      "content": "Sunny, 21C"}]},
    ]  # fmt: skip
    weather, flat = body["tools"]
    assert weather == {"name": "get_weather", "description": "Weather.",
                       "input_schema": TOOLS[0]["function"]["parameters"]}  # fmt: skip
    assert flat["name"] == "flat_tool"
    assert flat["cache_control"] == {"type": "ephemeral"}
    assert body["tool_choice"] == {"type": "tool", "name": "get_weather"}
    assert not {"stop", "tool_calls", "response_format", "stream_options"} & set(body)
    await llm(fake, max_tokens=50).achat("x", tools=TOOLS[:1], tool_choice="required")
    assert fake.bodies[1]["max_tokens"] == 50
    assert fake.bodies[1]["tool_choice"] == {"type": "any"}
    assert "system" not in fake.bodies[1]


async def test_the_response_is_translated(fake: FakeAnthropic) -> None:
    call = {"type": "tool_use", "id": "toolu_02", "name": "get_weather", "input": {"city": "Oslo"}}
    fake.replies.append((200, message({"type": "text", "text": "Let me check."}, call,
                                      stop="tool_use"), {}))  # fmt: skip
    answer = await llm(fake).achat("weather?")
    assert answer.content == "Let me check."
    assert answer.tool_calls == [{"id": "toolu_02", "type": "function", "function": {
        "name": "get_weather", "arguments": '{"city":"Oslo"}'}}]  # fmt: skip
    assert answer.finish_reason == "tool_calls"
    assert answer.request_id == "req_fake01"
    assert answer.id == "msg_01"
    assert answer.raw is not None
    assert json.loads(answer.raw)["type"] == "message"
    usage = answer.usage
    assert (usage.prompt_tokens, usage.cached_prompt_tokens, usage.cache_write_tokens) == (
        1110,
        1000,
        100,
    )
    assert usage.completion_tokens == 7
    assert usage.priced


async def test_a_stream_becomes_text_and_tool_call_deltas(fake: FakeAnthropic) -> None:
    fake.replies += [(529, error("overloaded_error", "Overloaded"), {}), (200, STREAM, {})]
    texts: list[str] = []
    async with await llm(fake, retry=FAST_RETRY).achat("weather?", stream=True) as stream:
        async for delta in stream:
            texts.append(delta.content)
    assert fake.bodies[0]["stream"] is True
    assert [t for t in texts if t] == ["Hel", "lo"]
    answer = stream.response
    assert answer.content == "Hello"
    assert answer.tool_calls == [{"id": "toolu_01", "type": "function", "function": {
        "name": "get_weather", "arguments": '{"city": "Paris"}'}}]  # fmt: skip
    assert answer.finish_reason == "tool_calls"
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (10, 15)
    assert answer.request_id == "req_fake01"
    assert answer.retries == 1


async def test_errors_are_mapped_and_retried(fake: FakeAnthropic) -> None:
    fake.replies += [
        (429, error("rate_limit_error", "Number of requests exceeded"), {"retry-after": "0"}),
        (529, error("overloaded_error", "Overloaded"), {}),
    ]
    answer = await llm(fake, retry=FAST_RETRY).achat("x")
    assert answer.retries == 2
    fake.replies.append((400, error("invalid_request_error", "messages: bad"), {}))
    with pytest.raises(errors.BadRequestError) as bad:
        await llm(fake, retry=FAST_RETRY).achat("x")
    assert bad.value.error == {"type": "invalid_request_error", "message": "messages: bad"}
    assert bad.value.request_id == "req_fake01"
    with pytest.raises(errors.AuthenticationError) as auth:
        await llm(fake, api_key="sk-ant-wrong-999999999", retry=FAST_RETRY).achat("x")
    assert auth.value.attempts == 1
    assert "wrong-999" not in str(auth.value)


async def test_rate_limit_headers_become_the_snapshot(fake: FakeAnthropic) -> None:
    soon = (datetime.now(UTC) + timedelta(seconds=30)).isoformat().replace("+00:00", "Z")
    headers = {
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-remaining": "49",
        "anthropic-ratelimit-requests-reset": soon,
        "anthropic-ratelimit-input-tokens-limit": "30000",
        "anthropic-ratelimit-input-tokens-remaining": "29000",
        "anthropic-ratelimit-input-tokens-reset": soon,
        "anthropic-ratelimit-output-tokens-limit": "8000",
        "anthropic-ratelimit-output-tokens-remaining": "7000",
        "anthropic-ratelimit-output-tokens-reset": soon,
    }
    fake.replies.append((200, message(), headers))
    limits = (await llm(fake).achat("x")).rate_limits
    assert (limits.limit_requests, limits.remaining_requests) == (50, 49)
    assert (limits.limit_input_tokens, limits.remaining_input_tokens) == (30000, 29000)
    assert (limits.limit_output_tokens, limits.remaining_output_tokens) == (8000, 7000)
    assert limits.limit_tokens is None  # Anthropic has no combined tokens budget of its own
    assert limits.reset_requests == pytest.approx(30, abs=2)
    assert limits.reset_input_tokens == pytest.approx(30, abs=2)
    assert limits.reset_output_tokens == pytest.approx(30, abs=2)


def test_the_key_comes_from_anthropic_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(errors.ConfigurationError, match="ANTHROPIC_API_KEY"):
        LLM("anthropic/claude-sonnet-4-5")
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    model = LLM("anthropic/claude-sonnet-4-5")
    assert model._url == "https://api.anthropic.com/v1/messages"
    assert model.api_key == KEY


async def test_an_error_event_mid_stream_raises_without_the_key(fake: FakeAnthropic) -> None:
    start = {"type": "message_start", "message": {**message(), "content": []}}
    failed = {"type": "error", "error": {"type": "overloaded_error", "message": f"no {KEY}"}}
    fake.replies.append((200, sse(start, failed), {}))
    async with await llm(fake).achat("x", stream=True) as stream:
        with pytest.raises(errors.ServerError) as info:
            [_ async for _ in stream]
    assert info.value.error == {"type": "overloaded_error", "message": "no ***"}
    assert KEY not in str(info.value)
