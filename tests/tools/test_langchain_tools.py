"""LangChain tools (``langchain_core``), used as they are, by fastcrew agents."""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import Any

from langchain_core.tools import BaseTool as LangChainBaseTool
from langchain_core.tools import StructuredTool, ToolException
from langchain_core.tools import tool as lc_tool
from pydantic import BaseModel, Field
from runtime.conftest import sim_llm

from fastcrew import Agent, Crew, Task
from fastcrew.sim import serve
from fastcrew.tools import ToolRunState
from fastcrew.tools.adapters import LangChainJsonTool, LangChainTool, adapt_tool

seen: dict[str, Any] = {}


@lc_tool
def multiply(a: int, b: int) -> int:
    """Multiply two numbers."""
    seen["multiply"] = threading.current_thread()
    return a * b


async def _lookup(query: str, limit: int = 3) -> str:
    seen["lookup"] = asyncio.get_running_loop()
    return f"LOOKED UP {limit} facts about {query[:30]}"


lookup = StructuredTool.from_function(
    coroutine=_lookup, name="lookup", description="Look a topic up."
)


class Search(LangChainBaseTool):
    """A LangChain BaseTool subclass with its own sync and async implementations."""

    name: str = "search"
    description: str = "Searches the archive."

    def _run(self, query: str) -> str:
        seen["search"] = "sync"
        return f"sync results for {query}"

    async def _arun(self, query: str) -> str:
        seen["search"] = "async"
        return f"ASYNC RESULTS for {query[:20]}"


def crew_of(llm: Any, tools: list[Any]) -> Crew:
    agent = Agent(role="Researcher", goal="Know {topic}", backstory="Careful.", llm=llm,
                  tools=tools)  # fmt: skip
    task = Task(description="Research {topic}", expected_output="Facts", agent=agent)
    return Crew(agents=[agent], tasks=[task])


def tool_texts(out: Any) -> list[str]:
    return [m["content"] for m in out.tasks_output[0].messages if m["role"] == "tool"]


async def test_a_sync_langchain_tool_runs_in_the_pool_and_reaches_the_model():
    async with serve(tool_rounds=1, parallel_calls=1) as sim:
        out = await crew_of(sim_llm(sim.base_url), [multiply]).akickoff({"topic": "tides"})
    (product,) = tool_texts(out)
    assert int(product) >= 0
    assert f"multiply: {product}" in out.raw
    assert seen["multiply"] is not threading.current_thread()  # the runtime's thread pool


async def test_an_async_structured_tool_is_awaited_on_the_runs_loop():
    async with serve(tool_rounds=1, parallel_calls=1) as sim:
        outs = await crew_of(sim_llm(sim.base_url), [lookup]).akickoff_for_each(
            [{"topic": f"t{i}"} for i in range(20)]
        )
    assert seen["lookup"] is asyncio.get_running_loop()
    for i, out in enumerate(outs):
        (text,) = tool_texts(out)
        assert text.startswith("LOOKED UP ")
        assert f"Research t{i} " in text


async def test_a_langchain_basetool_subclass_prefers_its_async_implementation():
    adapted = adapt_tool(Search())
    assert isinstance(adapted, LangChainTool)
    assert adapted.is_async
    assert (await adapted.ainvoke('{"query": "tides"}')).text == "ASYNC RESULTS for tides"
    assert seen["search"] == "async"


async def test_the_json_schema_is_the_function_schema_and_arguments_are_checked_first():
    calls: list[dict[str, Any]] = []

    class Args(BaseModel):
        city: str = Field(description="The city")
        days: int = Field(default=1, ge=1, le=7)

    def forecast(city: str, days: int = 1) -> str:
        calls.append({"city": city, "days": days})
        return f"sunny in {city} for {days}"

    tool = StructuredTool.from_function(func=forecast, name="forecast",
                                        description="A forecast.", args_schema=Args)  # fmt: skip
    adapted = adapt_tool(tool)
    params = adapted.openai_spec()["function"]["parameters"]
    assert params["properties"]["city"] == {"description": "The city", "type": "string"}
    assert params["required"] == ["city"]
    bad = await adapted.ainvoke('{"city": "Oslo", "days": 9}')
    assert bad.error_kind == "arguments"
    assert "days" in bad.text
    assert calls == []
    good = await adapted.ainvoke('{"city": "Oslo", "days": "2"}')
    assert good.text == "sunny in Oslo for 2"


async def test_a_dict_schema_is_checked_with_jsonschema():
    schema = {
        "type": "object",
        "properties": {"n": {"type": "integer", "minimum": 0}},
        "required": ["n"],
    }
    tool = StructuredTool.from_function(func=lambda n: f"n={n}", name="count",
                                        description="Counts.", args_schema=schema)  # fmt: skip
    adapted = adapt_tool(tool)
    assert isinstance(adapted, LangChainJsonTool)
    assert adapted.parameters()["required"] == ["n"]
    bad = await adapted.ainvoke('{"n": -1}')
    assert bad.error_kind == "arguments"
    assert "n: -1 is less than the minimum of 0" in bad.text
    assert (await adapted.ainvoke('{"n": 4}')).text == "n=4"


async def test_errors_return_direct_and_per_run_counts():
    def fail(x: str) -> str:
        raise ToolException(f"no data for {x}")

    failing = adapt_tool(StructuredTool.from_function(func=fail, name="fail", description="F."))
    state = ToolRunState()
    result = await failing.ainvoke('{"x": "a"}', state=state)
    assert result.text.startswith("Error: tool 'fail' raised ToolException: no data for a")
    assert state.tools_errors == 1
    direct = StructuredTool.from_function(func=lambda x: f"DONE {x}", name="finish",
                                          description="Finishes.", return_direct=True)  # fmt: skip
    async with serve(tool_rounds=1, parallel_calls=1) as sim:
        out = await crew_of(sim_llm(sim.base_url), [direct]).akickoff({"topic": "tides"})
    assert out.raw.startswith("DONE Research tides")  # return_direct = result_as_answer


def test_the_agent_keeps_the_langchain_objects_and_adapts_each_once():
    a = Agent(role="r", goal="g", backstory="b", llm=sim_llm("http://127.0.0.1:9/v1"),
              tools=[multiply, lookup])  # fmt: skip
    assert a.tools == [multiply, lookup]
    first, second = a.native_tools(), a.native_tools()
    assert [t.name for t in first] == ["multiply", "lookup"]
    assert all(x is y for x, y in zip(first, second, strict=True))
    assert "crewai" not in sys.modules


def test_task_tools_take_langchain_tools_too():
    task = Task(description="x", expected_output="y", tools=[multiply])
    assert task.tools == [multiply]
    assert [type(t) for t in task.native_tools()] == [LangChainTool]
