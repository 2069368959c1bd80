"""The official ``openai`` SDK as the client of the simulator: it must parse every answer."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest
from pydantic import BaseModel, Field

from fastcrew.sim import Simulator

KEY = "sim-not-a-real-key"


class Weather(BaseModel):
    city: str
    days: int = Field(ge=1, le=7)


class Lookup(BaseModel):
    query: str
    exact: bool = False


class Person(BaseModel):
    name: str
    age: int = Field(ge=0)
    emails: list[str]


ARGS: dict[str, type[BaseModel]] = {"get_weather": Weather, "lookup": Lookup}
TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": name,
            "description": f"the {name} tool",
            "parameters": model.model_json_schema(),
        },
    }
    for name, model in ARGS.items()
]


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(base_url=sim.base_url, api_key=KEY, max_retries=0) as sdk:
        yield sdk


def ask(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


def function_calls(message: Any) -> list[Any]:
    """The message's tool calls, each checked to be a function call."""
    calls = list(message.tool_calls or ())
    assert all(call.type == "function" for call in calls)
    return calls


async def test_sdk_parses_tool_calls_and_the_round_trip(
    client: openai.AsyncOpenAI, sim: Simulator
) -> None:
    messages = ask("weather in Oslo, then look it up")
    first = await client.chat.completions.create(model="gpt-4o", messages=messages, tools=TOOLS)
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = function_calls(choice.message)
    assert len(calls) == 2
    assert {c.function.name for c in calls} == set(ARGS)
    for call in calls:
        ARGS[call.function.name].model_validate(json.loads(call.function.arguments))
    # the SDK's own message goes back, then one tool result per call
    messages.append(choice.message.model_dump(exclude_none=True))
    for call in calls:
        messages.append(
            {"role": "tool", "tool_call_id": call.id, "content": f"{call.function.name} => 42"}
        )
    final = await client.chat.completions.create(model="gpt-4o", messages=messages, tools=TOOLS)
    assert final.choices[0].finish_reason == "stop"
    text = final.choices[0].message.content
    assert text is not None
    for call in calls:
        assert f"{call.function.name}: {call.function.name} => 42" in text
    assert final.usage is not None
    assert final.usage.prompt_tokens > first.usage.prompt_tokens  # type: ignore[union-attr]
    stats = sim.stats()
    assert (stats["tool_call_answers"], stats["tool_calls"], stats["tool_results"]) == (1, 2, 2)


async def test_sdk_accumulates_streamed_tool_calls(client: openai.AsyncOpenAI) -> None:
    whole = await client.chat.completions.create(model="m", messages=ask("stream"), tools=TOOLS)
    stream = await client.chat.completions.create(
        model="m",
        messages=ask("stream"),
        tools=TOOLS,
        stream=True,
        stream_options={"include_usage": True},
    )
    calls: dict[int, dict[str, str]] = {}
    finish = None
    usage = None
    async for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
            for part in choice.delta.tool_calls or ():
                entry = calls.setdefault(part.index, {"id": "", "name": "", "arguments": ""})
                entry["id"] += part.id or ""
                if part.function is not None:
                    entry["name"] += part.function.name or ""
                    entry["arguments"] += part.function.arguments or ""
    assert finish == "tool_calls"
    assert usage == whole.usage
    expected = function_calls(whole.choices[0].message)
    assert [calls[i] for i in sorted(calls)] == [
        {"id": c.id, "name": c.function.name, "arguments": c.function.arguments} for c in expected
    ]
    for entry in calls.values():
        ARGS[entry["name"]].model_validate_json(entry["arguments"])


async def test_sdk_stream_helper_accumulates_tool_calls(client: openai.AsyncOpenAI) -> None:
    async with client.chat.completions.stream(
        model="m", messages=ask("helper"), tools=TOOLS, parallel_tool_calls=False
    ) as stream:
        async for _ in stream:
            pass
        completion = await stream.get_final_completion()
    [call] = function_calls(completion.choices[0].message)
    ARGS[call.function.name].model_validate_json(call.function.arguments)


@pytest.mark.parametrize(
    ("tool_choice", "names"),
    [
        ("none", None),
        ("auto", {"get_weather", "lookup"}),
        ("required", {"get_weather", "lookup"}),
        ({"type": "function", "function": {"name": "lookup"}}, {"lookup"}),
    ],
)
async def test_sdk_tool_choice(
    client: openai.AsyncOpenAI, tool_choice: Any, names: set[str] | None
) -> None:
    response = await client.chat.completions.create(
        model="m", messages=ask("choose"), tools=TOOLS, tool_choice=tool_choice
    )
    message = response.choices[0].message
    if names is None:
        assert message.tool_calls is None
        assert message.content is not None
        assert message.content.startswith("Simulated answer")
    else:
        assert {c.function.name for c in function_calls(message)} == names


async def test_sdk_sees_400s_for_bad_tools(client: openai.AsyncOpenAI) -> None:
    bad = [{"type": "function", "function": {"name": "has space"}}]
    with pytest.raises(openai.BadRequestError) as info:
        await client.chat.completions.create(model="m", messages=ask("x"), tools=bad)  # type: ignore[arg-type]
    assert info.value.param == "tools[0].function.name"


async def test_sdk_json_object_follows_the_schema_in_the_prompt(
    client: openai.AsyncOpenAI,
) -> None:
    system = f"Answer with JSON matching this schema:\n{json.dumps(Person.model_json_schema())}"
    response = await client.chat.completions.create(
        model="m",
        messages=[{"role": "system", "content": system}, *ask("Ann, 31, ann@example.com")],
        response_format={"type": "json_object"},
    )
    Person.model_validate_json(response.choices[0].message.content or "")


async def test_sdk_parse_with_a_pydantic_response_format(client: openai.AsyncOpenAI) -> None:
    completion = await client.chat.completions.parse(
        model="m", messages=ask("a person"), response_format=Person
    )
    person = completion.choices[0].message.parsed
    assert isinstance(person, Person)
