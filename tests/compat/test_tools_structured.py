"""CrewAI compatibility: ``CrewStructuredTool``, as CrewAI's own
``tests/tools/test_structured_tool.py`` pins it down (CrewAI 1.15.30; written for fastcrew,
not copied). ``from fastcrew.tools import CrewStructuredTool`` (also
``fastcrew.tools.structured_tool``, CrewAI's module path).

Covered: all 22 of its tests (the parametrized one once per case) — construction,
``cache_function`` passed through (also from ``to_structured_tool()``), ``from_function``,
raw results and the agent's JSON text with an explicit / inferred / root ``result_schema``,
a warning for a result that does not fit, ``_validate_function_signature``, ``invoke`` /
``ainvoke``, ``_parse_args`` of dicts and JSON text, complex and inherited schemas, defaults,
exactly one call per ``invoke`` (with side effects and exceptions), and async tools with
``result_as_answer`` in a crew and in a flow (on the simulator).
"""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, Field, RootModel
from runtime.conftest import sim_llm

from fastcrew import Agent, Crew, Task
from fastcrew.flow import Flow, start
from fastcrew.sim import serve
from fastcrew.tools import BaseTool, tool
from fastcrew.tools.structured_tool import CrewStructuredTool


def basic(param1: str, param2: int = 0) -> str:
    """Test function with basic params."""
    return f"{param1} {param2}"


class BasicSchema(BaseModel):
    param1: str
    param2: int = Field(default=0)


def test_initialization_and_cache_function() -> None:
    def no_cache(_args: dict, _result: str) -> bool:
        return False

    t = CrewStructuredTool(
        name="test_tool",
        description="Test tool description",
        func=basic,
        args_schema=BasicSchema,
        cache_function=no_cache,
    )
    assert (t.name, t.description, t.func, t.args_schema) == (
        "test_tool",
        "Test tool description",
        basic,
        BasicSchema,
    )
    assert t.cache_function is no_cache


def test_base_tool_passes_cache_function_to_structured_tool() -> None:
    def no_cache(_args: dict, _result: str) -> bool:
        return False

    class MyCacheTool(BaseTool):
        name: str = "cache_test"
        description: str = "tool for testing cache passthrough"

        def _run(self, query: str = "") -> str:
            return "result"

    t = MyCacheTool()
    t.cache_function = no_cache
    assert t.to_structured_tool().cache_function is no_cache


def test_from_function() -> None:
    t = CrewStructuredTool.from_function(func=basic, name="test_tool", description="Test")
    assert (t.name, t.description, t.func) == ("test_tool", "Test", basic)
    assert issubclass(t.args_schema, BaseModel)


class StructuredOutput(BaseModel):
    value: str
    count: int


class StructuredOutputList(RootModel[list[StructuredOutput]]):
    pass


def explicit_value(value: str) -> dict[str, object]:
    """Build a value."""
    return {"value": value, "count": 1}


def inferred_value(value: str) -> StructuredOutput:
    """Build a value."""
    return StructuredOutput(value=value, count=1)


def many_values(value: str) -> StructuredOutputList:
    """Build values."""
    return StructuredOutputList([StructuredOutput(value=value, count=1)])


@pytest.mark.parametrize(
    ("func", "schema", "raw", "payload"),
    [
        (
            explicit_value,
            StructuredOutput,
            {"value": "crew", "count": 1},
            {"value": "crew", "count": 1},
        ),
        (
            inferred_value,
            None,
            StructuredOutput(value="crew", count=1),
            {"value": "crew", "count": 1},
        ),
        (
            many_values,
            None,
            StructuredOutputList([StructuredOutput(value="crew", count=1)]),
            [{"value": "crew", "count": 1}],
        ),
    ],
    ids=["explicit-schema", "inferred-base-model", "inferred-root-model"],
)
def test_from_function_returns_raw_result_and_json_agent_text(func, schema, raw, payload) -> None:
    kwargs = {"result_schema": schema} if schema is not None else {}
    t = CrewStructuredTool.from_function(func=func, name="build_value", **kwargs)
    result = t.invoke({"value": "crew"})
    assert result == raw
    assert json.loads(t.format_output_for_agent(result)) == payload


def test_from_function_does_not_infer_non_pydantic_result_schema() -> None:
    t = CrewStructuredTool.from_function(func=explicit_value, name="build_value")
    result = t.invoke({"value": "crew"})
    assert result == {"value": "crew", "count": 1}
    assert t.format_output_for_agent(result) == str(result)


def test_invalid_typed_output_warns_and_uses_string_agent_text() -> None:
    def build(value: str) -> dict[str, object]:
        """Build a value."""
        return {"value": value, "count": "wrong"}

    t = CrewStructuredTool.from_function(
        func=build, name="build_value", result_schema=StructuredOutput
    )
    result = t.invoke({"value": "crew"})
    with pytest.warns(RuntimeWarning, match="Failed to validate or serialize") as caught:
        text = t.format_output_for_agent(result)
    assert text == str(result)
    message = str(caught[0].message)
    assert "ValidationError" in message
    assert "wrong" not in message


def test_validate_function_signature() -> None:
    t = CrewStructuredTool(name="t", description="d", func=basic, args_schema=BasicSchema)
    t._validate_function_signature()

    class OnlyOne(BaseModel):
        param2: int = 0

    bad = CrewStructuredTool(name="t", description="d", func=basic, args_schema=OnlyOne)
    with pytest.raises(ValueError, match="param1"):
        bad._validate_function_signature()


async def test_ainvoke() -> None:
    t = CrewStructuredTool.from_function(func=basic, name="test_tool")
    assert await t.ainvoke(input={"param1": "test"}) == "test 0"


def test_parse_args_dict_and_string() -> None:
    t = CrewStructuredTool.from_function(func=basic, name="test_tool")
    for raw in ({"param1": "test", "param2": 42}, '{"param1": "test", "param2": 42}'):
        parsed = t._parse_args(raw)
        assert (parsed["param1"], parsed["param2"]) == ("test", 42)


def test_complex_types() -> None:
    def complex_func(nested: dict, items: list) -> str:
        """Process complex types."""
        return f"Processed {len(items)} items with {len(nested)} nested keys"

    t = CrewStructuredTool.from_function(func=complex_func, name="t", description="Complex")
    result = t.invoke({"nested": {"key": "value"}, "items": [1, 2, 3]})
    assert result == "Processed 3 items with 1 nested keys"


def test_schema_inheritance() -> None:
    def extended(base_param: str, extra_param: int) -> str:
        """Test function with inherited schema."""
        return f"{base_param} {extra_param}"

    class BaseSchema(BaseModel):
        base_param: str

    class ExtendedSchema(BaseSchema):
        extra_param: int

    t = CrewStructuredTool.from_function(func=extended, name="t", args_schema=ExtendedSchema)
    assert t.invoke({"base_param": "test", "extra_param": 42}) == "test 42"


def test_default_values_in_schema() -> None:
    def defaults(
        required_param: str, optional_param: str = "default", nullable_param: int | None = None
    ) -> str:
        """Test function with default values."""
        return f"{required_param} {optional_param} {nullable_param}"

    t = CrewStructuredTool.from_function(func=defaults, name="t", description="Defaults")
    assert t.invoke({"required_param": "test"}) == "test default None"
    full = {"required_param": "test", "optional_param": "custom", "nullable_param": 42}
    assert t.invoke(full) == "test custom 42"


def test_invoke_calls_func_exactly_once_each_time() -> None:
    calls: list[str] = []

    def counting(param: str) -> str:
        calls.append(param)
        return f"Result from call #{len(calls)}: {param}"

    t = CrewStructuredTool.from_function(func=counting, name="t", description="Counts")
    assert t.invoke({"param": "test_value"}) == "Result from call #1: test_value"
    assert calls == ["test_value"]

    def incrementing(value: int) -> int:
        calls.append(str(value))
        return value + len(calls) - 1

    t = CrewStructuredTool.from_function(func=incrementing, name="t", description="Increments")
    assert [t.invoke({"value": v}) for v in (10, 20, 30)] == [11, 22, 33]
    assert len(calls) == 4


def test_invoke_side_effects_and_exceptions_happen_once() -> None:
    effects: list[str] = []

    def side_effect(action: str) -> str:
        effects.append(action)
        return f"Action {action} completed"

    t = CrewStructuredTool.from_function(func=side_effect, name="t", description="Effects")
    assert t.invoke({"action": "write_file"}) == "Action write_file completed"
    assert effects == ["write_file"]

    count = 0

    def failing(should_fail: bool) -> str:
        nonlocal count
        count += 1
        if should_fail:
            raise ValueError(f"Intentional failure on call #{count}")
        return f"Success on call #{count}"

    t = CrewStructuredTool.from_function(func=failing, name="t", description="Fails")
    assert t.invoke({"should_fail": False}) == "Success on call #1"
    count = 0
    with pytest.raises(ValueError, match="Intentional failure on call #1"):
        t.invoke({"should_fail": True})
    assert count == 1


# -- async tools with result_as_answer, in a crew and in a flow ---------------------------


@tool("custom_tool", result_as_answer=True)
async def custom_tool_decorated() -> str:
    """This is a tool that does something"""
    return "Hello World from Custom Tool"


class CustomTool(BaseTool):
    name: str = "my_tool"
    description: str = "This is a tool that does something"
    result_as_answer: bool = True

    async def _run(self) -> str:  # type: ignore[override]
        return "Hello World from Custom Tool"


def simple_crew(t: BaseTool, llm) -> Crew:
    agent = Agent(role="Simple role", goal="Simple goal", backstory="Simple", llm=llm, tools=[t])
    task = Task(description="Use the tool result.", expected_output="The result", agent=agent)
    return Crew(agents=[agent], tasks=[task])


@pytest.mark.parametrize("make", [CustomTool, lambda: custom_tool_decorated])
async def test_async_tool_result_as_answer_in_a_crew(make) -> None:
    async with serve(tool_rounds=1, parallel_calls=1) as sim:
        out = await simple_crew(make(), sim_llm(sim.base_url)).akickoff()
    assert out.raw == "Hello World from Custom Tool"


@pytest.mark.parametrize("make", [CustomTool, lambda: custom_tool_decorated])
async def test_async_tool_result_as_answer_within_a_flow(make) -> None:
    async with serve(tool_rounds=1, parallel_calls=1) as sim:
        llm = sim_llm(sim.base_url)

        class StructuredExampleFlow(Flow):
            @start()
            async def begin(self):
                return await simple_crew(make(), llm).kickoff_async()

        result = await StructuredExampleFlow().akickoff()
    assert result.raw == "Hello World from Custom Tool"


async def test_args_and_the_usage_limit() -> None:
    from fastcrew.tools.structured_tool import ToolUsageLimitExceededError

    t = CrewStructuredTool.from_function(func=basic, name="t", max_usage_count=2)
    assert t.args == {
        "param1": {"title": "Param1", "type": "string"},
        "param2": {"default": 0, "title": "Param2", "type": "integer"},
    }
    assert t.invoke({"param1": "a"}) == "a 0"
    assert await t.ainvoke({"param1": "b"}) == "b 0"
    assert t.has_reached_max_usage_count()
    with pytest.raises(ToolUsageLimitExceededError, match="usage limit of 2"):
        t.invoke({"param1": "c"})
