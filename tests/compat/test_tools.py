"""CrewAI compatibility: tool objects, as CrewAI's own tests pin them down (CrewAI 1.15.30;
written for fastcrew, not copied). Split by subject: this file (creating tools, sync and async
implementations, ``run`` / ``arun`` validation), ``test_tools_results.py`` (``result_schema``,
``format_output_for_agent``, the authored description), ``test_tools_usage.py`` (usage
limits), ``test_tools_structured.py`` (``CrewStructuredTool``), ``test_tools_cache.py`` (the
tool cache). The coverage below is of the first three together.

Covered here:

- ``tests/tools/test_base_tool.py`` — 44 of its 45 tests (the parametrized ones once per
  case): tools from ``@tool`` and subclasses, the authored description and
  ``formatted_description``, ``to_structured_tool()``, ``cache_function``,
  ``result_as_answer``, sync and async ``_run``, ``max_usage_count`` in a crew, argument
  validation in ``run()`` / ``arun()`` (positional calls skip it, unknown keys are dropped,
  a failed validation counts no use), ``result_schema`` (explicit, inferred from a pydantic
  return annotation, root models, bad results warn), ``format_output_for_agent``.
- ``tests/tools/test_async_tools.py`` — all 12.
- ``tests/tools/test_tool_usage_limit.py`` — all 7.

Deliberately different (tested as fastcrew behaves, the test says why):

- ``arun()`` of a tool with only a sync ``_run`` runs it in the runtime's thread pool;
  CrewAI raises ``NotImplementedError`` (``test_sync_tool_arun_raises_not_implemented``,
  ``test_sync_decorated_tool_arun_raises``).
- ``run()`` of an async tool runs it on the runtime's home loop instead of
  ``asyncio.run`` (``test_run_calls_asyncio_run_for_async_tools`` patches ``asyncio.run``;
  here the behaviour it protects — ``run()`` returns the result, not a coroutine — is tested).
- ``max_usage_count`` is per run inside crews (``test_max_usage_count_is_respected`` holds:
  one run, five uses); ``current_usage_count`` still counts every execution.

Left out (1): ``test_prompt_rendering_still_uses_composite`` calls
``crewai.utilities.agent_utils.render_text_description_and_args``, a CrewAI-private helper
(fastcrew's equivalent, ``react_description()``, is tested beside ``formatted_description``).
``test_tool_usage_with_toolusage_class`` drives CrewAI's private ``ToolUsage`` with mocks; the
behaviour (the limit message once the count is used up) is tested through fastcrew's per-call
API, ``tool.ainvoke(..., state=ToolRunState())``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel, Field

from fastcrew.tools import BaseTool, CrewStructuredTool, tool

DESCRIPTION = "Clear description for what this tool is useful for, your agent will need it."

# -- creating tools (test_base_tool.py) ---------------------------------------------------


def test_creating_a_tool_using_annotation() -> None:
    @tool("Name of my tool")
    def my_tool(question: str) -> str:
        """Clear description for what this tool is useful for, your agent will need it."""
        return question

    assert my_tool.name == "Name of my tool"
    assert my_tool.description == DESCRIPTION  # authored text kept (CrewAI 1.15 too)
    formatted = my_tool.formatted_description
    assert "Tool Name: name_of_my_tool" in formatted
    assert "Tool Arguments:" in formatted
    assert '"question"' in formatted
    assert '"type": "string"' in formatted
    assert f"Tool Description: {DESCRIPTION}" in formatted
    assert my_tool.args_schema.model_json_schema()["properties"] == {
        "question": {"title": "Question", "type": "string"}
    }
    assert my_tool.func("What is the meaning of life?") == "What is the meaning of life?"

    converted = my_tool.to_structured_tool()
    assert isinstance(converted, CrewStructuredTool)
    assert converted.name == "Name of my tool"
    assert converted.description == my_tool.description
    assert "Tool Name: name_of_my_tool" in converted.formatted_description
    assert converted.args_schema.model_json_schema()["properties"] == {
        "question": {"title": "Question", "type": "string"}
    }
    assert converted.func("What is the meaning of life?") == "What is the meaning of life?"


class MyCustomTool(BaseTool):
    name: str = "Name of my tool"
    description: str = DESCRIPTION

    def _run(self, question: str) -> str:
        return question


def test_creating_a_tool_using_baseclass() -> None:
    my_tool = MyCustomTool()
    assert my_tool.name == "Name of my tool"
    assert my_tool.description == DESCRIPTION
    formatted = my_tool.formatted_description
    assert "Tool Name: name_of_my_tool" in formatted
    assert '"type": "string"' in formatted
    assert formatted.endswith(f"Tool Description: {DESCRIPTION}")
    assert my_tool.args_schema.model_json_schema()["properties"] == {
        "question": {"title": "Question", "type": "string"}
    }
    assert my_tool.run("What is the meaning of life?") == "What is the meaning of life?"

    converted = my_tool.to_structured_tool()
    assert converted.name == "Name of my tool"
    assert converted.description == my_tool.description
    assert '"question"' in converted.formatted_description
    assert converted._run("What is the meaning of life?") == "What is the meaning of life?"


def test_setting_cache_function() -> None:
    class NoCache(MyCustomTool):
        cache_function: Callable[..., Any] = lambda: False

    assert not NoCache().cache_function()


def test_default_cache_function_is_true() -> None:
    assert MyCustomTool().cache_function()


def test_result_as_answer_in_tool_decorator() -> None:
    @tool("Tool with result as answer", result_as_answer=True)
    def answering(question: str) -> str:
        """This tool's result is the final answer."""
        return question

    @tool("Tool with default result_as_answer")
    def plain(question: str) -> str:
        """This tool uses the default."""
        return question

    assert answering.result_as_answer is True
    assert answering.to_structured_tool().result_as_answer is True
    assert plain.result_as_answer is False
    assert plain.to_structured_tool().result_as_answer is False


# -- sync and async implementations -------------------------------------------------------


class SyncTool(BaseTool):
    name: str = "sync_tool"
    description: str = "A synchronous tool"

    def _run(self, input_text: str) -> str:
        return f"Sync processed: {input_text}"


class AsyncRunTool(BaseTool):
    """CrewAI's test_base_tool.py AsyncTool: an ``async def _run``."""

    name: str = "async_tool"
    description: str = "An asynchronous tool"

    async def _run(self, input_text: str) -> str:  # type: ignore[override]
        await asyncio.sleep(0)
        return f"Processed {input_text} asynchronously"


class BothTool(BaseTool):
    """CrewAI's test_async_tools.py AsyncTool: a sync ``_run`` and an async ``_arun``."""

    name: str = "async_tool"
    description: str = "An asynchronous tool"

    def _run(self, input_text: str) -> str:
        return f"Sync processed: {input_text}"

    async def _arun(self, input_text: str) -> str:
        await asyncio.sleep(0)
        return f"Async processed: {input_text}"


def test_sync_run_returns_direct_result() -> None:
    t = SyncTool()
    result = t._run(input_text="hello")
    assert not asyncio.iscoroutine(result)
    assert result == "Sync processed: hello"
    assert t.run(input_text="hello") == "Sync processed: hello"


def test_async_run_returns_coroutine() -> None:
    result = AsyncRunTool()._run(input_text="hello")
    assert asyncio.iscoroutine(result)
    result.close()


def test_run_of_an_async_tool_returns_the_result() -> None:
    # CrewAI's test_run_calls_asyncio_run_for_async_tools patches asyncio.run; fastcrew runs
    # the coroutine on the runtime's home loop instead — what matters is the result.
    assert AsyncRunTool().run(input_text="test") == "Processed test asynchronously"


def test_run_does_not_make_a_loop_for_sync_tools() -> None:
    # test_run_does_not_call_asyncio_run_for_sync_tools: a sync tool runs in the caller.
    import threading

    seen: list[threading.Thread] = []

    @tool("where")
    def where() -> str:
        """Records its thread."""
        seen.append(threading.current_thread())
        return "here"

    assert where.run() == "here"
    assert seen == [threading.current_thread()]


def test_sync_and_async_run_and_arun() -> None:
    # test_async_tools.py: run() uses _run when there is one; arun() awaits _arun.
    assert SyncTool().run(input_text="hello") == "Sync processed: hello"
    assert BothTool().run(input_text="hello") == "Sync processed: hello"
    assert asyncio.run(BothTool().arun(input_text="hello")) == "Async processed: hello"


async def test_arun_of_a_sync_tool_runs_it_in_the_thread_pool() -> None:
    # CrewAI raises NotImplementedError here; fastcrew runs _run in the runtime's pool.
    assert await SyncTool().arun(input_text="hello") == "Sync processed: hello"

    @tool("sync_decorated_arun")
    def sync_func(value: str) -> str:
        """A sync decorated tool."""
        return f"sync: {value}"

    assert await sync_func.arun(value="test") == "sync: test"


async def test_arun_increments_usage_count() -> None:
    t = BothTool()
    await t.arun(input_text="test")
    assert t.current_usage_count == 1
    await t.arun(input_text="test2")
    assert t.current_usage_count == 2


async def test_async_tools_run_concurrently() -> None:
    # test_multiple_async_tools_run_concurrently / test_multiple_slow_tools_concurrent,
    # without timing: every call waits until all three have started.
    started = 0
    all_in = asyncio.Event()

    class Gathering(BaseTool):
        name: str = "slow_async"
        description: str = "Waits for the others"

        async def _arun(self, task_id: int) -> str:
            nonlocal started
            started += 1
            if started == 3:
                all_in.set()
            await all_in.wait()
            return f"Task {task_id} done"

    t = Gathering()
    results = await asyncio.wait_for(
        asyncio.gather(*(t.arun(task_id=i) for i in (1, 2, 3))), timeout=5
    )
    assert results == ["Task 1 done", "Task 2 done", "Task 3 done"]


def test_decorated_tools_run_and_arun() -> None:
    @tool("sync_decorated")
    def sync_func(value: str) -> str:
        """A sync decorated tool."""
        return f"sync: {value}"

    @tool("async_decorated")
    async def async_func(value: str) -> str:
        """An async decorated tool."""
        await asyncio.sleep(0)
        return f"async: {value}"

    assert sync_func.run(value="test") == "sync: test"
    assert async_func.run(value="test") == "async: test"
    assert asyncio.run(async_func.arun(value="test")) == "async: test"


async def test_async_tool_with_io() -> None:
    class SlowAsyncTool(BaseTool):
        name: str = "slow_async"
        description: str = "Simulates slow I/O"

        def _run(self, delay: float) -> str:
            return f"Completed after {delay}s"

        async def _arun(self, delay: float) -> str:
            await asyncio.sleep(0)
            return f"Completed after {delay}s"

    assert await SlowAsyncTool().arun(delay=0.05) == "Completed after 0.05s"


# -- run() / arun() argument validation ---------------------------------------------------


class CodeExecutorInput(BaseModel):
    code: str = Field(description="The code to execute")
    language: str = Field(default="python", description="Programming language")


class CodeExecutorTool(BaseTool):
    name: str = "code_executor"
    description: str = "Execute code snippets"
    args_schema: type[BaseModel] = CodeExecutorInput

    def _run(self, code: str, language: str = "python") -> str:
        return f"Executed {language}: {code}"


class AsyncCodeExecutorTool(CodeExecutorTool):
    name: str = "async_code_executor"

    async def _arun(self, code: str, language: str = "python") -> str:
        return f"Async executed {language}: {code}"


def test_run_validates_keyword_arguments() -> None:
    t = CodeExecutorTool()
    assert t.run(code="print('hello')") == "Executed python: print('hello')"
    assert t.run(code="console.log('hi')", language="javascript") == (
        "Executed javascript: console.log('hi')"
    )
    for bad in ({}, {"language": "python"}, {"wrong_arg": "value"}):
        with pytest.raises(ValueError, match="validation failed"):
            t.run(**bad)
    assert t.run(code="1+1", extra_hallucinated_field="junk") == "Executed python: 1+1"


def test_run_with_positional_args_skips_validation() -> None:
    assert MyCustomTool().run("What is life?") == "What is life?"


def test_usage_counts_only_validated_runs() -> None:
    t = CodeExecutorTool()
    assert t.current_usage_count == 0
    with pytest.raises(ValueError, match="validation failed"):
        t.run(wrong="bad")
    assert t.current_usage_count == 0
    t.run(code="x = 1")
    assert t.current_usage_count == 1


def test_decorator_tool_run_validates_kwargs() -> None:
    @tool("execute_code")
    def execute_code(code: str, language: str = "python") -> str:
        """Execute a code snippet."""
        return f"Executed {language}: {code}"

    @tool("greet")
    def greet(name: str) -> str:
        """Greet someone."""
        return f"Hello, {name}!"

    assert execute_code.run(code="x = 1") == "Executed python: x = 1"
    with pytest.raises(ValueError, match="validation failed"):
        execute_code.run(wrong_arg="value")
    assert greet.run("World") == "Hello, World!"


async def test_arun_validates_keyword_arguments() -> None:
    t = AsyncCodeExecutorTool()
    assert await t.arun(code="print('hello')") == "Async executed python: print('hello')"
    for bad in ({}, {"language": "python"}, {"wrong_arg": "value"}, {"wrong": "bad"}):
        with pytest.raises(ValueError, match="validation failed"):
            await t.arun(**bad)
    assert t.current_usage_count == 1
    assert await t.arun(code="1+1", extra_field="junk") == "Async executed python: 1+1"

    @tool("async_execute")
    async def async_execute(code: str, language: str = "python") -> str:
        """Execute code asynchronously."""
        return f"Async {language}: {code}"

    assert await async_execute.arun(code="x = 1") == "Async python: x = 1"
    with pytest.raises(ValueError, match="validation failed"):
        await async_execute.arun(wrong_arg="value")


def test_from_langchain() -> None:
    # BaseTool.from_langchain (CrewAI's; agents also take LangChain tools as they are)
    from langchain_core.tools import tool as lc_tool

    @lc_tool
    def multiply(a: int, b: int) -> int:
        """Multiply two numbers."""
        return a * b

    adapted = BaseTool.from_langchain(multiply)
    assert isinstance(adapted, BaseTool)
    assert (adapted.name, adapted.description) == ("multiply", "Multiply two numbers.")
    assert adapted.run(a=6, b=7) == 42
    with pytest.raises(ValueError, match="not a tool"):
        BaseTool.from_langchain(object())
