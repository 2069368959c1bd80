"""CrewAI compatibility: ``max_usage_count``, as CrewAI's
``tests/tools/test_tool_usage_limit.py`` and ``test_base_tool.py``
(``test_max_usage_count_is_respected``) pin it down. Coverage and leave-outs:
``test_tools.py``.
"""

from __future__ import annotations

import pytest
from runtime.conftest import sim_llm

from fastcrew import Agent, Crew, Task
from fastcrew.sim import serve
from fastcrew.tools import BaseTool, ToolRunState, tool

# -- usage limits (test_tool_usage_limit.py, test_base_tool.py) ---------------------------


class LimitedTool(BaseTool):
    name: str = "Limited Tool"
    description: str = "A tool with usage limits"
    max_usage_count: int | None = 2

    def _run(self, input_text: str) -> str:
        return f"Processed {input_text}"


def test_tool_usage_limit() -> None:
    t = LimitedTool()
    assert t.run(input_text="test1") == "Processed test1"
    assert t.current_usage_count == 1
    assert t.run(input_text="test2") == "Processed test2"
    assert t.current_usage_count == 2
    assert "has reached its usage limit of 2 times" in t.run(input_text="test3")


def test_unlimited_tool_usage() -> None:
    t = LimitedTool(max_usage_count=None)
    for i in range(5):
        assert t.run(input_text=f"test{i}") == f"Processed test{i}"
        assert t.current_usage_count == i + 1


def test_tool_decorator_with_usage_limit_and_default() -> None:
    @tool("Test Tool", max_usage_count=3)
    def limited(input_text: str) -> str:
        """A test tool."""
        return f"Result: {input_text}"

    @tool("Default Tool")
    def default_tool(input_text: str) -> str:
        """A default tool."""
        return f"Result: {input_text}"

    assert (limited.max_usage_count, limited.current_usage_count) == (3, 0)
    assert limited.run(input_text="test") == "Result: test"
    assert limited.current_usage_count == 1
    assert (default_tool.max_usage_count, default_tool.current_usage_count) == (None, 0)


def test_invalid_usage_limit() -> None:
    with pytest.raises(ValueError, match="max_usage_count must be a positive integer"):
        LimitedTool(max_usage_count=-1)


def test_reset_usage_count() -> None:
    t = LimitedTool(max_usage_count=3)
    t.run(input_text="test1")
    t.run(input_text="test2")
    assert t.current_usage_count == 2
    t.reset_usage_count()
    assert t.current_usage_count == 0
    assert t.run(input_text="test3") == "Processed test3"
    assert t.current_usage_count == 1


async def test_the_per_call_api_enforces_the_limit() -> None:
    # test_tool_usage_with_toolusage_class, through fastcrew's per-call API.
    t = LimitedTool()
    state = ToolRunState()
    first = await t.ainvoke({"input_text": "a"}, state=state)
    second = await t.ainvoke({"input_text": "b"}, state=state)
    third = await t.ainvoke({"input_text": "c"}, state=state)
    assert (first.text, second.text) == ("Processed a", "Processed b")
    assert third.error_kind == "usage_limit"
    assert "has reached its usage limit of 2 times" in third.text


async def test_max_usage_count_is_respected_in_a_crew() -> None:
    class IteratingTool(BaseTool):
        name: str = "iterating_tool"
        description: str = "A tool that iterates"

        def _run(self, input_text: str) -> str:
            return f"Iteration {input_text}"

    t = IteratingTool(max_usage_count=5)
    async with serve(tool_rounds=7, parallel_calls=1) as sim:
        agent = Agent(
            role="Iterating Agent",
            goal="Call the iterating tool 5 times",
            backstory="You iterate.",
            llm=sim_llm(sim.base_url),
            tools=[t],
        )
        task = Task(description="Call the tool", expected_output="Iterations", agent=agent)
        out = await Crew(agents=[agent], tasks=[task]).akickoff()
    assert t.max_usage_count == 5
    assert t.current_usage_count == 5  # seven calls asked for, five ran
    assert out.tasks_output[0].used_tools == 5
    limits = [m for m in out.tasks_output[0].messages if m.get("role") == "tool"]
    assert sum("has reached its usage limit of 5 times" in m["content"] for m in limits) == 2
