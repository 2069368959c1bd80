"""How tools are shown to a model: OpenAI function specs and names, ReAct blocks — checked
against the simulator, which generates arguments from the specs and parses the ReAct text."""

from __future__ import annotations

import re
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from fastcrew import LLM
from fastcrew.errors import ToolDefinitionError
from fastcrew.limits import RateLimit, RetryPolicy
from fastcrew.sim import serve
from fastcrew.sim.react import react_prompt_tools
from fastcrew.tools import BaseTool, ToolRunState, openai_name, tool, tools_by_wire_name

WIRE_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class Address(BaseModel):
    street: str
    title: str = Field(description="A property called title must survive the cleaning")


class ShipInput(BaseModel):
    item: str = Field(description="What to ship")
    to: Address
    speed: Literal["slow", "fast"] = "slow"


class ShipTool(BaseTool):
    name: str = "Ship an item!"
    description: str = "Ships an item to an address."
    args_schema: type[BaseModel] = ShipInput

    def _run(self, item: str, to: Address, speed: str = "slow") -> str:
        return f"shipped {item} to {to.street} ({speed})"


@tool("Word count")
def word_count(text: str) -> int:
    """Count the words in a text."""
    return len(text.split())


@tool
async def shout(text: str, times: int = 1) -> str:
    """Upper-case a text."""
    return " ".join([text.upper()] * times)


def toolset() -> list[BaseTool]:
    return [word_count, shout, ShipTool()]


def sim_llm(base_url: str) -> LLM:
    return LLM(
        "openai/sim-model",
        base_url=base_url,
        retry=RetryPolicy(max_attempts=1),
        rate_limit=RateLimit(rpm=None, tpm=None),
    )


def keys_named(node: Any, key: str) -> list[Any]:
    """Every value of ``key`` in a schema, outside ``properties`` maps."""
    if isinstance(node, list):
        return [v for item in node for v in keys_named(item, key)]
    if not isinstance(node, dict):
        return []
    found = [node[key]] if key in node else []
    for name, value in node.items():
        if name == "properties":
            found += [v for sub in value.values() for v in keys_named(sub, key)]
        else:
            found += keys_named(value, key)
    return found


@pytest.mark.parametrize(
    ("name", "wire"),
    [
        ("Delegate work to coworker", "delegate_work_to_coworker"),
        ("Ask question to coworker", "ask_question_to_coworker"),
        ("word_count", "word_count"),
        ("Ship an item!", "ship_an_item"),
        ("Café-lookup v2", "cafe-lookup_v2"),
    ],
)
def test_openai_names_follow_crewais_lower_underscore_convention(name: str, wire: str) -> None:
    assert openai_name(name) == wire


def test_openai_names_are_always_valid_and_long_ones_stay_distinct() -> None:
    long_a, long_b = "x" * 80 + " alpha", "x" * 80 + " beta"
    names = [openai_name(n) for n in ("!!!", "日本語", long_a, long_b, "a" * 64)]
    assert all(WIRE_NAME.match(n) for n in names)
    assert names[0].startswith("tool_")
    assert names[2] != names[3]
    assert len(names[2]) == 64
    assert names[4] == "a" * 64
    assert openai_name(long_a) == names[2]  # stable


def test_spec_shape_is_openais_with_titles_dropped_and_objects_closed() -> None:
    spec = ShipTool().openai_spec()
    assert spec["type"] == "function"
    function = spec["function"]
    assert set(function) == {"name", "description", "parameters"}
    assert function["name"] == "ship_an_item"
    assert function["description"] == "Ships an item to an address."
    params = function["parameters"]
    assert params["type"] == "object"
    assert params["required"] == ["item", "to"]
    assert keys_named(params, "title") == []
    assert "title" in params["$defs"]["Address"]["properties"]
    assert params["additionalProperties"] is False
    assert params["$defs"]["Address"]["additionalProperties"] is False


async def test_simulated_calls_of_our_specs_validate_and_results_reach_the_model() -> None:
    tools = toolset()
    by_wire = {t.wire_name: t for t in tools}
    async with serve(parallel_calls=3) as sim:
        llm = sim_llm(sim.base_url)
        messages: list[dict[str, Any]] = [{"role": "user", "content": "Please use the tools"}]
        resp = await llm.achat(messages, tools=[t.openai_spec() for t in tools])
        calls = resp.tool_calls or []
        assert {c["function"]["name"] for c in calls} == set(by_wire)
        state = ToolRunState()
        results = [
            await by_wire[c["function"]["name"]].ainvoke(c["function"]["arguments"], state=state)
            for c in calls
        ]
        assert [r.error for r in results] == [False, False, False]
        assert state.tools_errors == 0
        messages.append({"role": "assistant", "content": None, "tool_calls": calls})
        messages += [
            {"role": "tool", "tool_call_id": c["id"], "content": r.text}
            for c, r in zip(calls, results, strict=True)
        ]
        final = await llm.achat(messages, tools=[t.openai_spec() for t in tools])
    assert not final.tool_calls
    shipped = next(r.text for r in results if r.text.startswith("shipped"))
    assert shipped[:30] in final.content


async def test_broken_simulated_arguments_come_back_as_retryable_observations() -> None:
    tools = toolset()
    by_wire = {t.wire_name: t for t in tools}
    async with serve(parallel_calls=3, malformed_args_rate=1.0) as sim:
        resp = await sim_llm(sim.base_url).achat(
            "Use the tools", tools=[t.openai_spec() for t in tools]
        )
    state = ToolRunState()
    results = [
        await by_wire[c["function"]["name"]].ainvoke(c["function"]["arguments"], state=state)
        for c in resp.tool_calls or []
    ]
    assert len(results) == 3
    assert all(r.error_kind == "arguments" for r in results)
    assert all("Call '" in r.text and "again" in r.text for r in results)
    assert (state.tools_errors, state.used_tools) == (3, 0)


def test_react_blocks_are_read_back_by_the_simulators_parser() -> None:
    tools = toolset()
    prompt = "\n\n".join(t.react_description() for t in tools)
    parsed = react_prompt_tools(prompt)
    assert [p.name for p in parsed] == [t.name for t in tools]
    assert [p.parameters for p in parsed] == [t.parameters() for t in tools]
    assert [p.description for p in parsed] == [t.description for t in tools]


async def test_a_react_action_from_the_simulator_runs_through_ainvoke() -> None:
    tools = toolset()
    by_name = {t.name: t for t in tools}
    system = (
        "You can use these tools:\n\n"
        + "\n\n".join(t.react_description() for t in tools)
        + "\n\nReply with Thought: / Action: <tool name> / Action Input: <JSON object>."
    )
    async with serve() as sim:
        resp = await sim_llm(sim.base_url).achat(
            [{"role": "system", "content": system}, {"role": "user", "content": "Go"}]
        )
    action = re.search(r"^Action: (.+)$\n^Action Input: (.+)$", resp.content, re.M)
    assert action is not None, resp.content
    result = await by_name[action.group(1)].ainvoke(action.group(2), state=ToolRunState())
    assert not result.error, result.text


def test_wire_names_map_back_and_collisions_are_refused() -> None:
    tools = toolset()
    assert tools_by_wire_name(tools) == {
        "word_count": word_count,
        "shout": shout,
        "ship_an_item": tools[2],
    }

    @tool("word count")
    def other_count(text: str) -> int:
        """Another counter."""
        return 0

    with pytest.raises(ToolDefinitionError, match="'Word count' and 'word count'"):
        tools_by_wire_name([word_count, other_count])
