"""Defining tools as CrewAI users do: ``@tool`` on def / async def, ``BaseTool`` subclasses."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, Field, ValidationError

import fastcrew
from fastcrew.errors import RunningLoopError, ToolDefinitionError
from fastcrew.tools import BaseTool, Tool, tool


class MyToolInput(BaseModel):
    """Input schema for MyCustomTool."""

    argument: str = Field(..., description="Description of the argument.")


class MyCustomTool(BaseTool):  # CrewAI's docs example, unchanged but for the import
    name: str = "Name of my tool"
    description: str = "What this tool does. It's vital for effective utilization."
    args_schema: type[BaseModel] = MyToolInput

    def _run(self, argument: str) -> str:
        return f"Tool's result for {argument}"


def test_package_exports_the_crewai_spellings() -> None:
    assert fastcrew.BaseTool is BaseTool
    assert fastcrew.tool is tool
    assert issubclass(ToolDefinitionError, ValueError)  # CrewAI raises ValueError


def test_tool_decorator_plain_named_and_with_options() -> None:
    @tool
    def word_count(text: str) -> int:
        """Count the words in a text."""
        return len(text.split())

    @tool("Tool Name")
    def my_simple_tool(question: str) -> str:
        """Tool description for clarity."""
        return "Tool output"

    @tool("Final", result_as_answer=True, max_usage_count=2)
    def final(x: int) -> int:
        """Gives the answer."""
        return x

    assert isinstance(word_count, Tool)
    assert (word_count.name, word_count.description) == ("word_count", "Count the words in a text.")
    assert my_simple_tool.name == "Tool Name"
    assert my_simple_tool.wire_name == "tool_name"
    assert (final.result_as_answer, final.max_usage_count) == (True, 2)
    assert word_count.run(text="a b c") == 3
    assert word_count.func("x y") == 2  # the function stays reachable, as in CrewAI


def test_schema_comes_from_hints_even_under_future_annotations() -> None:
    @tool
    def lookup(
        city: Annotated[str, Field(description="The city")],
        unit: Literal["C", "F"] = "C",
        days: int = 1,
    ) -> str:
        """Weather forecast."""
        return f"{city} {unit} {days}"

    params = lookup.parameters()
    assert params["required"] == ["city"]
    assert params["properties"]["city"] == {"description": "The city", "type": "string"}
    assert params["properties"]["unit"]["enum"] == ["C", "F"]
    assert lookup.validate_arguments({"city": "Oslo", "days": "3"}) == {
        "city": "Oslo",
        "unit": "C",
        "days": 3,
    }


def test_a_tool_without_docstring_is_refused_as_crewai_does() -> None:
    with pytest.raises(ToolDefinitionError, match="Function must have a docstring") as info:

        @tool
        def undocumented(x: int) -> int:
            return x

    assert info.value.tool == "undocumented"


def test_a_parameter_type_without_json_schema_is_refused_at_definition() -> None:
    class Opaque:
        pass

    def use(thing: Opaque) -> str:
        """Uses a thing."""
        return "ok"

    use.__annotations__["thing"] = Opaque  # a real class, not a string to resolve
    with pytest.raises(ToolDefinitionError, match=r"thing|Opaque"):
        tool(use)


def test_base_tool_subclass_with_args_schema() -> None:
    t = MyCustomTool()
    assert t.args_schema is MyToolInput
    assert t.description == "What this tool does. It's vital for effective utilization."
    assert t.run(argument="x") == "Tool's result for x"
    with pytest.raises(ValueError, match="arguments validation failed") as caught:
        t.run(wrong="x")
    assert isinstance(caught.value.__cause__, ValidationError)  # pydantic's details kept


def test_schema_derived_from_run_then_arun() -> None:
    class Repeat(BaseTool):
        name: str = "repeat"
        description: str = "Repeat a text."

        def _run(self, text: str, times: int = 2) -> str:
            return text * times

    class Ping(BaseTool):
        name: str = "ping"
        description: str = "Async ping."

        async def _arun(self, host: str) -> str:
            return f"pong from {host}"

    repeat, ping = Repeat(), Ping()
    assert repeat.parameters()["required"] == ["text"]
    assert not repeat.is_async
    assert ping.is_async
    assert ping.parameters()["required"] == ["host"]
    assert repeat.run(text="ab") == "abab"
    assert ping.run(host="h") == "pong from h"  # async-only: runs on the runtime's home loop


def test_a_subclass_with_neither_run_nor_arun_is_refused() -> None:
    class Empty(BaseTool):
        name: str = "empty"
        description: str = "Nothing."

    with pytest.raises(ToolDefinitionError, match="neither _run nor _arun"):
        Empty()


def test_max_usage_count_must_be_positive() -> None:
    with pytest.raises(ValidationError, match="max_usage_count"):
        MyCustomTool(max_usage_count=0)


def test_direct_calls_enforce_the_lifetime_usage_limit() -> None:
    t = MyCustomTool(max_usage_count=2)
    assert t.run(argument="a").startswith("Tool's result")
    assert t.run(argument="b").startswith("Tool's result")
    assert t.run(argument="c") == (
        "Tool 'Name of my tool' has reached its usage limit of 2 times and cannot be used anymore."
    )
    assert t.current_usage_count == 2
    t.reset_usage_count()
    assert t.run(argument="d").startswith("Tool's result")


def test_cache_function_is_assignable_as_in_crewais_docs() -> None:
    @tool
    def multiplication_tool(first_number: int, second_number: int) -> int:
        """Useful for when you need to multiply two numbers together."""
        return first_number * second_number

    def cache_func(args: dict, result: int) -> bool:
        return result % 2 == 0

    multiplication_tool.cache_function = cache_func
    assert multiplication_tool.cache_function is cache_func


async def test_sync_run_of_an_async_tool_inside_a_loop_says_what_to_await() -> None:
    @tool
    async def fetch(url: str) -> str:
        """Fetch a page."""
        await asyncio.sleep(0)
        return url

    with pytest.raises(RunningLoopError, match="arun"):
        fetch.run(url="u")
    assert await fetch.arun(url="u") == "u"
