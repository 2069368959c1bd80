"""Tool calls over real loopback HTTP: the wire format, tool_choice, rounds, broken arguments,
streamed deltas, validation 400s and the counters."""

from __future__ import annotations

from typing import Any, Literal

import aiohttp
import pytest
from pydantic import BaseModel, Field, ValidationError

from fastcrew._json import JSONDecodeError, dumps, loads
from fastcrew.sim import Simulator, serve

from .helpers import body, chat, post, sse_events


class Weather(BaseModel):
    city: str
    unit: Literal["c", "f"] = "c"
    days: int = Field(ge=1, le=7)


class Add(BaseModel):
    a: int
    b: float


class Search(BaseModel):
    query: str = Field(min_length=3)
    limit: int | None = None


MODELS: dict[str, type[BaseModel]] = {"get_weather": Weather, "add": Add, "search": Search}


def tool(name: str) -> dict[str, Any]:
    schema = MODELS[name].model_json_schema()
    return {"type": "function", "function": {"name": name, "parameters": schema}}


TOOLS = [tool("get_weather"), tool("add"), tool("search")]


def message_of(data: dict[str, Any]) -> dict[str, Any]:
    return data["choices"][0]["message"]


def check_calls(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Every call names an offered tool and its arguments validate; returns the calls."""
    calls = message["tool_calls"]
    for call in calls:
        assert call["type"] == "function"
        assert call["id"].startswith("call_")
        MODELS[call["function"]["name"]].model_validate_json(call["function"]["arguments"])
    assert len({c["id"] for c in calls}) == len(calls)
    return calls


def answer_calls(messages: list[dict[str, Any]], message: dict[str, Any]) -> None:
    """Append the assistant message and one tool result per call (the agent loop's part)."""
    messages.append(message)
    for call in message["tool_calls"]:
        name = call["function"]["name"]
        messages.append(
            {"role": "tool", "tool_call_id": call["id"], "content": f"RESULT-{name}-{call['id']}"}
        )


async def test_tool_call_answer_wire_format(session: aiohttp.ClientSession, sim: Simulator) -> None:
    data = await chat(session, sim, text="weather in Paris please", tools=TOOLS)
    [choice] = data["choices"]
    assert choice["finish_reason"] == "tool_calls"
    message = choice["message"]
    assert message["role"] == "assistant"
    assert message["content"] is None
    calls = check_calls(message)
    assert len(calls) == sim.config.parallel_calls == 2
    assert len({c["function"]["name"] for c in calls}) == 2  # distinct tools
    # the first free-form string argument carries the user's text
    assert any("weather in Paris" in c["function"]["arguments"] for c in calls)
    names_args = "".join(c["function"]["name"] + c["function"]["arguments"] for c in calls)
    assert data["usage"]["completion_tokens"] == (len(names_args) + 3) // 4
    assert (await chat(session, sim, text="weather in Paris please", tools=TOOLS)) | {
        "created": 0
    } == data | {"created": 0}  # deterministic


async def test_round_trip_quotes_every_tool_result(
    session: aiohttp.ClientSession, sim: Simulator
) -> None:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "plan my trip"}]
    first = await chat(session, sim, messages=messages, tools=TOOLS)
    answer_calls(messages, message_of(first))
    final = await chat(session, sim, messages=messages, tools=TOOLS)
    assert final["choices"][0]["finish_reason"] == "stop"
    content = message_of(final)["content"]
    assert "to: plan my trip | tool results: " in content
    for call in message_of(first)["tool_calls"]:
        assert f"{call['function']['name']}: RESULT-{call['function']['name']}-{call['id']}" in (
            content
        )
    assert "tool_calls" not in message_of(final)
    stats = sim.stats()
    assert (stats["tool_call_answers"], stats["tool_calls"], stats["tool_results"]) == (1, 2, 2)


async def test_tool_rounds_and_parallel_calls_are_configurable(
    session: aiohttp.ClientSession,
) -> None:
    async with serve(tool_rounds=3, parallel_calls=5) as sim:
        messages: list[dict[str, Any]] = [{"role": "user", "content": "go"}]
        for _ in range(3):
            data = await chat(session, sim, messages=messages, tools=TOOLS)
            assert len(check_calls(message_of(data))) == 3  # at most one call per tool
            answer_calls(messages, message_of(data))
        final = await chat(session, sim, messages=messages, tools=TOOLS)
        assert message_of(final)["content"].count("RESULT-") == 9
        assert sim.stats()["tool_calls"] == 9
    async with serve(tool_rounds=0) as sim:
        data = await chat(session, sim, tools=TOOLS)
        assert data["choices"][0]["finish_reason"] == "stop"


async def test_parallel_tool_calls_false_gives_one_call(
    session: aiohttp.ClientSession, sim: Simulator
) -> None:
    data = await chat(session, sim, tools=TOOLS, parallel_tool_calls=False)
    assert len(check_calls(message_of(data))) == 1


@pytest.mark.parametrize("choice", ["none", "auto", "required", "named"])
async def test_tool_choice(session: aiohttp.ClientSession, sim: Simulator, choice: str) -> None:
    value: Any = (
        {"type": "function", "function": {"name": "search"}} if choice == "named" else choice
    )
    messages: list[dict[str, Any]] = [{"role": "user", "content": "look it up"}]
    data = await chat(session, sim, messages=messages, tools=TOOLS, tool_choice=value)
    if choice == "none":
        assert message_of(data)["content"].startswith("Simulated answer")
        return
    calls = check_calls(message_of(data))
    if choice == "named":
        assert [c["function"]["name"] for c in calls] == ["search"]
    answer_calls(messages, message_of(data))
    again = await chat(session, sim, messages=messages, tools=TOOLS, tool_choice=value)
    if choice == "auto":  # the one configured round is done
        assert "RESULT-" in message_of(again)["content"]
    else:  # required and a named function call every time, as OpenAI does
        assert again["choices"][0]["finish_reason"] == "tool_calls"


async def test_a_tool_without_parameters_gets_an_empty_object(
    session: aiohttp.ClientSession, sim: Simulator
) -> None:
    tools = [{"type": "function", "function": {"name": "now", "description": "the time"}}]
    data = await chat(session, sim, tools=tools)
    [call] = message_of(data)["tool_calls"]
    assert call["function"] == {"name": "now", "arguments": "{}"}


async def test_malformed_arguments_share(session: aiohttp.ClientSession) -> None:
    async with serve(malformed_args_rate=0.5, parallel_calls=1) as sim:
        bad_json = violating = valid = 0
        for i in range(60):
            data = await chat(session, sim, text=f"row {i}", tools=[tool("get_weather")])
            arguments = message_of(data)["tool_calls"][0]["function"]["arguments"]
            try:
                parsed = loads(arguments)
            except JSONDecodeError:
                bad_json += 1
                continue
            try:
                Weather.model_validate(parsed)
                valid += 1
            except ValidationError:
                violating += 1
        assert bad_json > 5
        assert violating > 5
        assert valid > 15
        assert bad_json + violating + valid == 60
    async with serve(malformed_args_rate=1.0) as sim:  # every call broken, repeatably
        first = await chat(session, sim, text="x", tools=TOOLS)
        assert await chat(session, sim, text="x", tools=TOOLS) | {"created": 0} == first | {
            "created": 0
        }
        for call in message_of(first)["tool_calls"]:
            with pytest.raises(ValidationError):
                MODELS[call["function"]["name"]].model_validate_json(call["function"]["arguments"])


async def test_streamed_tool_calls_follow_openai_chunking(
    session: aiohttp.ClientSession, sim: Simulator
) -> None:
    whole = await chat(session, sim, text="stream tools", tools=TOOLS)
    payload = body("stream tools", tools=TOOLS, stream=True, stream_options={"include_usage": True})
    status, _, raw = await post(session, sim, payload)
    assert status == 200
    events = sse_events(raw)
    assert events[-1] == "[DONE]"
    assert events[-2]["choices"] == []
    assert events[-2]["usage"] == whole["usage"]
    chunks = events[:-2]
    first = chunks[0]["choices"][0]["delta"]
    assert first["role"] == "assistant"
    assert first["content"] is None
    assert chunks[-1]["choices"][0] == {
        "index": 0,
        "delta": {},
        "logprobs": None,
        "finish_reason": "tool_calls",
    }
    calls: dict[int, dict[str, Any]] = {}
    for chunk in chunks[:-1]:
        for part in chunk["choices"][0]["delta"]["tool_calls"]:
            entry = calls.setdefault(part["index"], {"arguments": ""})
            if "id" in part:  # a header: id, type and name come once, arguments empty
                assert part["function"]["arguments"] == ""
                assert "name" not in entry
                entry.update(id=part["id"], name=part["function"]["name"])
            else:
                assert set(part) == {"index", "function"}
                assert 1 <= len(part["function"]["arguments"]) <= 4
                entry["arguments"] += part["function"]["arguments"]
    assert [
        {
            "id": c["id"],
            "type": "function",
            "function": {"name": c["name"], "arguments": c["arguments"]},
        }
        for _, c in sorted(calls.items())
    ] == message_of(whole)["tool_calls"]


async def test_max_tokens_cuts_tool_arguments(
    session: aiohttp.ClientSession, sim: Simulator
) -> None:
    data = await chat(session, sim, text="long", tools=[tool("search")], max_tokens=4)
    assert data["choices"][0]["finish_reason"] == "length"
    [call] = message_of(data)["tool_calls"]
    assert len("search" + call["function"]["arguments"]) <= 16
    assert data["usage"]["completion_tokens"] <= 4


@pytest.mark.parametrize(
    ("fields", "param", "words"),
    [
        ({"tools": []}, "tools", "non-empty list"),
        ({"tools": "search"}, "tools", "non-empty list"),
        ({"tools": [5]}, "tools[0]", "must be an object"),
        ({"tools": [{"type": "code", "function": {}}]}, "tools[0].type", "'function'"),
        ({"tools": [{"type": "function"}]}, "tools[0].function", "object with a 'name'"),
        (
            {"tools": [{"type": "function", "function": {"name": "a b"}}]},
            "tools[0].function.name",
            "1-64 characters",
        ),
        ({"tools": [tool("add"), tool("add")]}, "tools[1].function.name", "offered twice"),
        (
            {"tools": [{"type": "function", "function": {"name": "x", "parameters": []}}]},
            "tools[0].function.parameters",
            "JSON schema object",
        ),
        (
            {
                "tools": [
                    {"type": "function", "function": {"name": "x", "parameters": {"type": "array"}}}
                ]
            },
            "tools[0].function.parameters",
            "must be 'object'",
        ),
        (
            {
                "tools": [
                    {
                        "type": "function",
                        "function": {"name": "x", "parameters": {"$ref": "#/nope"}},
                    }
                ]
            },
            "tools[0].function.parameters",
            "Invalid schema",
        ),
        ({"tools": TOOLS, "tool_choice": "always"}, "tool_choice", "'none', 'auto', 'required'"),
        ({"tool_choice": "required"}, "tool_choice", "needs 'tools'"),
        (
            {"tools": TOOLS, "tool_choice": {"type": "function"}},
            "tool_choice.function.name",
            "name",
        ),
        (
            {"tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "fly"}}},
            "tool_choice.function.name",
            "not one of the offered tools",
        ),
        ({"tools": TOOLS, "parallel_tool_calls": "no"}, "parallel_tool_calls", "boolean"),
        (
            {"messages": [{"role": "user", "content": "x"}, {"role": "tool", "content": "r"}]},
            "messages[1].tool_call_id",
            "tool_call_id",
        ),
    ],
)
async def test_bad_tool_fields_get_400_naming_the_field(
    session: aiohttp.ClientSession, sim: Simulator, fields: dict[str, Any], param: str, words: str
) -> None:
    status, _, raw = await post(session, sim, {**body("x"), **fields})
    assert status == 400, raw
    error = loads(raw)["error"]
    assert error["param"] == param
    assert error["type"] == "invalid_request_error"
    assert words in error["message"]


async def test_tool_support_reject(session: aiohttp.ClientSession) -> None:
    async with serve(tool_support="reject") as sim:
        status, _, raw = await post(session, sim, body("x", tools=TOOLS))
        assert status == 400
        error = loads(raw)["error"]
        assert (error["param"], error["code"]) == ("tools", "tools_not_supported")
        assert (await chat(session, sim, text="no tools"))["choices"][0]["finish_reason"] == "stop"


async def test_tool_calls_never_happen_without_tools(
    session: aiohttp.ClientSession, sim: Simulator
) -> None:
    data = await chat(session, sim, tool_choice="auto")
    assert "tool_calls" not in message_of(data)
    assert dumps(sim.stats()["tool_calls"]) == b"0"


async def test_a_json_final_answer_carries_the_tool_results(
    session: aiohttp.ClientSession, sim: Simulator
) -> None:
    class Report(BaseModel):
        summary: str
        score: int

    messages: list[dict[str, Any]] = [{"role": "user", "content": "report"}]
    answer_calls(messages, message_of(await chat(session, sim, messages=messages, tools=TOOLS)))
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "Report", "schema": Report.model_json_schema()},
    }
    data = await chat(session, sim, messages=messages, tools=TOOLS, response_format=response_format)
    report = Report.model_validate_json(message_of(data)["content"])
    assert report.summary.count("RESULT-") == 2


async def test_tool_answers_ignore_key_order_but_not_the_tools(
    session: aiohttp.ClientSession, sim: Simulator
) -> None:
    reordered = [
        {"function": dict(reversed(list(t["function"].items()))), "type": "function"} for t in TOOLS
    ]
    a = await chat(session, sim, tools=TOOLS)
    b = await chat(session, sim, tools=reordered)
    assert message_of(a)["tool_calls"] == message_of(b)["tool_calls"]
    c = await chat(session, sim, tools=TOOLS[:2])
    assert message_of(c)["tool_calls"] != message_of(a)["tool_calls"]
