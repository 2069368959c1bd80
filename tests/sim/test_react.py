"""ReAct text answers over real HTTP, against prompts written the way docs/simulator.md says."""

from __future__ import annotations

import json
import re
from typing import Any

import aiohttp
import pytest
from pydantic import BaseModel, ValidationError

from fastcrew._json import loads
from fastcrew.sim import Simulator, serve

from .helpers import chat


class CityArgs(BaseModel):
    city: str


class AddArgs(BaseModel):
    a: int
    b: int


def tool_block(name: str, model: type[BaseModel], description: str, *, indent: bool) -> str:
    schema = json.dumps(model.model_json_schema(), indent=2 if indent else None)
    return f"Tool Name: {name}\nTool Arguments: {schema}\nTool Description: {description}"


def react_prompt(*blocks: str) -> str:
    tools = "\n\n".join(blocks)
    return (
        "You are a researcher.\n"
        f"These are your tools; use no other:\n\n{tools}\n\n"
        "Answer in this format:\n\n```\n"
        "Thought: your plan\n"
        "Action: a tool name from [get_weather, add]\n"
        "Action Input: its arguments as a JSON object\n"
        "Observation: what the tool returned\n```\n\n"
        "When you know enough, answer so:\n\n```\n"
        "Thought: done\n"
        "Final Answer: your answer\n```"
    )


PROMPT = react_prompt(
    tool_block("get_weather", CityArgs, "The weather in a city.", indent=False),
    tool_block("add", AddArgs, "Adds two numbers.", indent=True),
)
FINAL = "Thought: I have what I need to answer\nFinal Answer: "
ARGS: dict[str, type[BaseModel]] = {"get_weather": CityArgs, "add": AddArgs}
ACTION = re.compile(
    r"\AThought: (?P<thought>[^\n]+)\nAction: (?P<tool>[^\n]+)\nAction Input: (?P<input>\{.*\})\Z",
    re.S,
)


def content(data: dict[str, Any]) -> str:
    return data["choices"][0]["message"]["content"]


def parse_action(text: str) -> tuple[str, dict[str, Any]]:
    match = ACTION.match(text)
    assert match is not None, text
    tool = match["tool"]
    arguments = loads(match["input"])
    ARGS[tool].model_validate(arguments)
    return tool, arguments


async def test_action_then_final_answer_quoting_the_observation(
    session: aiohttp.ClientSession, sim: Simulator
) -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": PROMPT},
        {"role": "user", "content": "Current Task: weather in Lyon\n\nBegin!\n\nThought:"},
    ]
    first = content(await chat(session, sim, messages=messages))
    tool, _ = parse_action(first)
    assert "Observation:" not in first
    assert "Final Answer:" not in first
    # CrewAI appends the observation to its own assistant message
    messages.append({"role": "assistant", "content": f"{first}\nObservation: OBS-{tool}-17 C"})
    final = content(await chat(session, sim, messages=messages))
    assert final.startswith(f"{FINAL}Simulated answer ")
    assert "to: Current Task: weather in Lyon" in final
    assert final.endswith(f"| observations: OBS-{tool}-17 C")
    assert sim.stats()["react_actions"] == 1


async def test_observation_as_a_user_message_and_two_rounds(session: aiohttp.ClientSession) -> None:
    async with serve(tool_rounds=2, seed=3) as sim:
        messages: list[dict[str, Any]] = [{"role": "user", "content": PROMPT + "\nTask: sum"}]
        seen = []
        for round_ in range(2):
            text = content(await chat(session, sim, messages=messages))
            tool, _ = parse_action(text)
            messages.append({"role": "assistant", "content": text})
            messages.append(
                {"role": "user", "content": f"Observation: result {round_} of {tool}\n more"}
            )
            seen.append(f"result {round_} of {tool} more")
        final = content(await chat(session, sim, messages=messages))
        assert final.endswith("| observations: " + "; ".join(seen))
        assert sim.stats()["react_actions"] == 2


async def test_a_scratchpad_in_one_prompt_message(
    session: aiohttp.ClientSession, sim: Simulator
) -> None:
    scratch = 'Thought: look\nAction: add\nAction Input: {"a": 1, "b": 2}\nObservation: 3\nThought:'
    final = content(await chat(session, sim, text=f"{PROMPT}\nQuestion: 1+2?\n{scratch}"))
    assert final.endswith("| observations: 3")


async def test_an_observation_after_no_listed_action_does_not_count(
    session: aiohttp.ClientSession, sim: Simulator
) -> None:
    messages = [
        {"role": "system", "content": PROMPT},
        {"role": "user", "content": "Action: fly\nObservation: not a tool"},
    ]
    parse_action(content(await chat(session, sim, messages=messages)))


async def test_asking_for_the_final_answer_ends_the_loop(
    session: aiohttp.ClientSession, sim: Simulator
) -> None:
    messages = [
        {"role": "system", "content": PROMPT},
        {"role": "user", "content": "Task"},
        {"role": "user", "content": "Stop using tools and give your best final answer now."},
    ]
    final = content(await chat(session, sim, messages=messages))
    assert final.startswith(FINAL)
    assert "observations" not in final


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ("{'city': {'description': 'the city', 'type': 'str'}}", {"city": str}),
        ("{'n': {'type': 'int'}, 'tags': {'type': 'list[str]'}}", {"n": int, "tags": list}),
        ('{"n": {"type": "int"}}', {"n": int}),
        ("(none)", {}),
    ],
)
async def test_older_and_missing_argument_forms(
    session: aiohttp.ClientSession, sim: Simulator, arguments: str, expected: dict[str, type]
) -> None:
    prompt = react_prompt(f"Tool Name: lookup\nTool Arguments: {arguments}\nTool Description: x")
    text = content(await chat(session, sim, text=prompt))
    match = ACTION.match(text)
    assert match is not None, text
    assert match["tool"] == "lookup"
    value = loads(match["input"])
    assert {k: type(v) for k, v in value.items()} == expected


async def test_broken_action_inputs(session: aiohttp.ClientSession) -> None:
    async with serve(malformed_args_rate=1.0) as sim:
        text = content(await chat(session, sim, text=PROMPT + "\nTask"))
        match = ACTION.match(text + "}")  # invalid JSON may lack its closing brace
        assert match is not None, text
        with pytest.raises(ValidationError):
            ARGS[match["tool"]].model_validate_json(text.split("Action Input: ", 1)[1])


async def test_no_react_without_a_tool_list_or_with_tools_or_json(
    session: aiohttp.ClientSession, sim: Simulator
) -> None:
    plain = "Use the format\nThought: ...\nAction Input: ...\nFinal Answer: ..."
    assert content(await chat(session, sim, text=plain)).startswith("Simulated answer")
    data = await chat(session, sim, text=PROMPT, response_format={"type": "json_object"})
    assert isinstance(loads(content(data)), dict)
    tools = [{"type": "function", "function": {"name": "add"}}]
    data = await chat(session, sim, text=PROMPT, tools=tools, tool_choice="none")
    assert content(data).startswith("Simulated answer")
