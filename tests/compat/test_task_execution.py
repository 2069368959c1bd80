"""CrewAI compatibility: running one task without a crew — ``task.execute_sync``,
``task.execute_async`` (a ``concurrent.futures.Future``), ``await task.aexecute_sync`` — as
CrewAI 1.15's ``lib/crewai/tests/task/test_async_task.py`` and the execution tests of
``lib/crewai/tests/test_task.py`` pin it down (written for fastcrew, not copied). CrewAI's
tests patch ``Agent.execute_task``; here the agent answers from the simulator.

``test_async_task.py`` (18 tests): 13 covered. Deliberately different (one test below says
why): ``test_aexecute_sync_sets_start_and_end_time``, ``test_aexecute_sync_stores_output``,
``test_aexecute_sync_adds_agent_to_processed_by`` (CrewAI writes run state onto the task;
fastcrew's task is a template and the run's ``TaskOutput`` is returned). Left out (2):
``test_aexport_output_uses_acall_not_call``,
``test_ato_json_function_calling_does_not_block_event_loop`` (CrewAI's ``Converter``
internals; fastcrew validates structured answers itself, natively async).

``test_task.py``, covered here (10): ``test_task_prompt_includes_expected_output``,
``test_task_callback`` (differs: the output is returned, not stored on ``task.output``),
``test_task_callback_returns_task_output`` (differs: no ``tool_failures`` field yet),
``test_execute_with_agent``, ``test_async_execution``, ``test_async_execution_fails``,
``test_task_with_no_max_execution_time``, ``test_task_with_max_execution_time``,
``test_task_with_max_execution_time_exceeded``, ``test_task_execution_times``
(deliberately different, as above).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Iterator
from typing import Any

import pytest
from runtime.conftest import sim_llm

from fastcrew import Agent, ExecutionTimeoutError, OutputFormat, Task, TaskOutput
from fastcrew.sim import SpawnedSim, spawn
from fastcrew.tools import tool


@pytest.fixture(scope="module")
def spawned() -> Iterator[SpawnedSim]:
    """A simulator in a child process: sync calls run on the runtime's home loop."""
    with spawn() as server:
        yield server


def researcher(base_url: str, role: str = "Researcher", **kwargs: Any) -> Agent:
    return Agent(
        role=role,
        goal="Make the best research and analysis",
        backstory="An expert researcher.",
        llm=sim_llm(base_url),
        allow_delegation=False,
        **kwargs,
    )


IDEAS = "Give me a list of 5 interesting ideas to explore for an article."
EXPECTED = "Bullet point list of 5 interesting ideas."


# -- execute_sync / execute_async (tests/test_task.py) --------------------------------------


def test_task_prompt_includes_expected_output(spawned: SpawnedSim) -> None:
    agent = researcher(spawned.base_url)
    task = Task(description=IDEAS, expected_output=EXPECTED, agent=agent)
    out = task.execute_sync(agent=agent)
    assert IDEAS in out.messages[1]["content"]
    assert EXPECTED in out.messages[1]["content"]


def test_task_callback(spawned: SpawnedSim) -> None:
    """The callback gets the output once. CrewAI also stores it on ``task.output``; fastcrew
    returns it (the task is a template shared by every run)."""
    agent = researcher(spawned.base_url)
    seen: list[TaskOutput] = []
    task = Task(
        name="Brainstorm",
        description=IDEAS,
        expected_output=EXPECTED,
        agent=agent,
        callback=seen.append,
    )
    out = task.execute_sync(agent=agent)
    assert seen == [out]
    assert (out.description, out.expected_output, out.name) == (IDEAS, EXPECTED, "Brainstorm")


def test_task_callback_returns_task_output(spawned: SpawnedSim) -> None:
    """The TaskOutput's fields as CrewAI dumps them; ``name`` falls back to the description.
    fastcrew has no ``tool_failures`` yet, and adds its per-run tool counters."""
    agent = researcher(spawned.base_url)
    seen: list[TaskOutput] = []
    task = Task(description=IDEAS, expected_output=EXPECTED, agent=agent, callback=seen.append)
    task.execute_sync(agent=agent)
    dumped = seen[0].model_dump()
    assert dumped["description"] == IDEAS
    assert dumped["raw"] == seen[0].raw != ""
    assert (dumped["pydantic"], dumped["json_dict"]) == (None, None)
    assert dumped["agent"] == "Researcher"
    assert dumped["summary"] == "Give me a list of 5 interesting ideas to explore..."
    assert dumped["name"] == IDEAS
    assert dumped["expected_output"] == EXPECTED
    assert dumped["output_format"] == OutputFormat.RAW
    assert isinstance(dumped["messages"], list)
    assert (dumped["used_tools"], dumped["tools_errors"], dumped["delegations"]) == (0, 0, 0)


def test_execute_with_agent(spawned: SpawnedSim) -> None:
    """A task without an agent runs with the one passed."""
    task = Task(description=IDEAS, expected_output=EXPECTED)
    out = task.execute_sync(agent=researcher(spawned.base_url))
    assert out.agent == "Researcher"
    assert out.raw


def test_async_execution(spawned: SpawnedSim) -> None:
    agent = researcher(spawned.base_url)
    task = Task(description=IDEAS, expected_output=EXPECTED, async_execution=True, agent=agent)
    execution = task.execute_async(agent=agent)
    assert isinstance(execution, concurrent.futures.Future)
    result = execution.result(timeout=30)
    assert isinstance(result, TaskOutput)
    assert result.raw == task.execute_sync(agent=agent).raw  # the same request, the same answer


def test_async_execution_fails(spawned: SpawnedSim) -> None:
    """A failure inside the run is raised by ``future.result()`` as itself."""

    def boom(_: TaskOutput) -> None:
        raise RuntimeError("boom!")

    agent = researcher(spawned.base_url)
    task = Task(description=IDEAS, expected_output=EXPECTED, agent=agent, callback=boom)
    with pytest.raises(RuntimeError, match="boom!"):
        task.execute_async(agent=agent).result(timeout=30)


def test_task_with_no_max_execution_time(spawned: SpawnedSim) -> None:
    agent = researcher(spawned.base_url, max_execution_time=None)
    result = Task(description=IDEAS, expected_output=EXPECTED, agent=agent).execute_sync(
        agent=agent
    )
    assert result.raw


def test_task_with_max_execution_time(spawned: SpawnedSim) -> None:
    @tool("what amazing tool", result_as_answer=True)
    def my_tool() -> str:
        """My tool"""
        return "okay"

    agent = researcher(spawned.base_url, tools=[my_tool], max_execution_time=30)
    task = Task(description=IDEAS, expected_output=EXPECTED, agent=agent)
    assert task.execute_sync(agent=agent).raw == "okay"


def test_task_with_max_execution_time_exceeded(spawned: SpawnedSim) -> None:
    """A tool that never finishes: the run is cancelled and ``TimeoutError`` raised."""

    @tool("what amazing tool", result_as_answer=True)
    async def my_tool() -> str:
        """My tool"""
        await asyncio.Event().wait()
        return "okay"

    agent = researcher(spawned.base_url, tools=[my_tool], max_execution_time=0.3)
    task = Task(description=IDEAS, expected_output=EXPECTED, agent=agent)
    with pytest.raises(TimeoutError) as info:
        task.execute_sync(agent=agent)
    assert isinstance(info.value, ExecutionTimeoutError)


def test_task_execution_leaves_the_template_unchanged(spawned: SpawnedSim) -> None:
    """``test_task_execution_times`` (and the async ``sets_start_and_end_time``,
    ``stores_output``, ``adds_agent_to_processed_by``): CrewAI writes ``start_time``,
    ``end_time``, ``output`` and ``processed_by_agents`` onto the task. fastcrew's task is a
    template any number of runs share, so nothing is written to it; the run's output is
    returned (docs/compatibility.md, Task)."""
    agent = researcher(spawned.base_url)
    task = Task(description=IDEAS, expected_output=EXPECTED, agent=agent)
    before = task.model_dump()
    out = task.execute_sync(agent=agent)
    assert task.model_dump() == before
    assert not hasattr(task, "output")
    assert out.raw


# -- aexecute_sync (tests/task/test_async_task.py) --------------------------------------------


async def test_aexecute_sync_basic(sim) -> None:
    agent = researcher(sim.base_url, role="Test Agent")
    result = await Task(
        description="Test task", expected_output="Test output", agent=agent
    ).aexecute_sync()
    assert isinstance(result, TaskOutput)
    assert result.raw
    assert result.agent == "Test Agent"
    assert sim.stats()["requests_total"] == 1


async def test_aexecute_sync_with_context(sim) -> None:
    agent = researcher(sim.base_url)
    context = "Some earlier findings about tides."
    task = Task(description="Test task", expected_output="Test output", agent=agent)
    result = await task.aexecute_sync(context=context)
    assert context in result.messages[1]["content"]


async def test_aexecute_sync_with_tools(sim) -> None:
    @tool
    def test_tool() -> str:
        """A test tool."""
        return "tool says hi"

    agent = researcher(sim.base_url)
    task = Task(description="Test task", expected_output="Test output", agent=agent)
    result = await task.aexecute_sync(tools=[test_tool])
    assert "test_tool: tool says hi" in result.raw
    assert result.used_tools == 1
    assert task.tools == []  # the tools were for that run only


async def test_aexecute_sync_calls_callback(sim) -> None:
    seen: list[Any] = []
    agent = researcher(sim.base_url)
    task = Task(
        description="Test task", expected_output="Test output", agent=agent, callback=seen.append
    )
    await task.aexecute_sync()
    assert len(seen) == 1
    assert isinstance(seen[0], TaskOutput)


async def test_aexecute_sync_async_callback(sim) -> None:
    """fastcrew also awaits an ``async def`` callback (as CrewAI awaits an awaitable result)."""
    seen: list[Any] = []

    async def callback(output: TaskOutput) -> None:
        seen.append(output)

    agent = researcher(sim.base_url)
    task = Task(
        description="Test task", expected_output="Test output", agent=agent, callback=callback
    )
    out = await task.aexecute_sync()
    assert seen == [out]


async def test_aexecute_sync_without_agent_raises() -> None:
    task = Task(description="Test task", expected_output="Test output")
    with pytest.raises(ValueError, match="has no agent assigned"):
        await task.aexecute_sync()


async def test_aexecute_sync_with_different_agent(sim) -> None:
    task = Task(
        description="Test task", expected_output="Test output", agent=researcher(sim.base_url)
    )
    result = await task.aexecute_sync(agent=researcher(sim.base_url, role="Other Agent"))
    assert result.agent == "Other Agent"
    assert "You are Other Agent" in result.messages[0]["content"]


async def test_aexecute_sync_handles_exception() -> None:
    """The agent's failure is raised as itself (here: an LLM object that raises)."""

    class Failing:
        async def acall(self, messages: Any, **kwargs: Any) -> Any:
            raise RuntimeError("Test error")

    agent = Agent(role="Test Agent", goal="g", backstory="b", llm=Failing())
    task = Task(description="Test task", expected_output="Test output", agent=agent)
    with pytest.raises(RuntimeError, match="Test error"):
        await task.aexecute_sync()


async def test_ainvoke_guardrail_success(sim) -> None:
    agent = researcher(sim.base_url)
    task = Task(
        description="Test task",
        expected_output="Test output",
        agent=agent,
        guardrail=lambda output: (True, output.raw),
    )
    result = await task.aexecute_sync()
    assert result.raw.startswith("Simulated answer")


async def test_ainvoke_guardrail_failure_then_success(sim) -> None:
    calls = 0

    def guardrail(output: TaskOutput) -> tuple[bool, str]:
        nonlocal calls
        calls += 1
        return (False, "First attempt failed") if calls == 1 else (True, output.raw)

    agent = researcher(sim.base_url)
    task = Task(
        description="Test task", expected_output="Test output", agent=agent, guardrail=guardrail
    )
    result = await task.aexecute_sync()
    assert result.raw
    assert calls == 2
    assert sim.stats()["requests_total"] == 2


async def test_ainvoke_guardrail_max_retries_exceeded(sim) -> None:
    agent = researcher(sim.base_url)
    task = Task(
        description="Test task",
        expected_output="Test output",
        agent=agent,
        guardrail=lambda _: (False, "Always fails"),
        guardrail_max_retries=2,
    )
    with pytest.raises(Exception, match="validation after") as info:
        await task.aexecute_sync()
    assert "2 retries" in str(info.value)


async def test_ainvoke_multiple_guardrails(sim) -> None:
    called: list[str] = []

    def first(output: TaskOutput) -> tuple[bool, str]:
        called.append("first")
        return True, output.raw

    def second(output: TaskOutput) -> tuple[bool, str]:
        called.append("second")
        return True, output.raw

    agent = researcher(sim.base_url)
    task = Task(
        description="Test task",
        expected_output="Test output",
        agent=agent,
        guardrails=[first, second],
    )
    await task.aexecute_sync()
    assert called == ["first", "second"]


async def test_aexecute_sync_output_format_raw(sim) -> None:
    agent = researcher(sim.base_url)
    result = await Task(
        description="Test task", expected_output="Test output", agent=agent
    ).aexecute_sync()
    assert result.output_format == OutputFormat.RAW


async def test_aexecute_sync_task_output_attributes(sim) -> None:
    agent = researcher(sim.base_url, role="Test Agent")
    task = Task(
        description="Test description",
        expected_output="Test expected",
        agent=agent,
        name="Test Task Name",
    )
    result = await task.aexecute_sync()
    assert result.name == "Test Task Name"
    assert result.description == "Test description"
    assert result.expected_output == "Test expected"
    assert result.raw.startswith("Simulated answer")
    assert result.agent == "Test Agent"


async def test_execute_sync_refuses_inside_a_running_loop(sim) -> None:
    """fastcrew: the sync call inside an event loop points to the awaitable; ``execute_async``
    works anywhere (its own thread, as in CrewAI)."""
    from fastcrew import RunningLoopError

    agent = researcher(sim.base_url)
    task = Task(description="Test task", expected_output="Test output", agent=agent)
    with pytest.raises(RunningLoopError, match="aexecute_sync"):
        task.execute_sync()
    future = task.execute_async()
    out = await asyncio.wrap_future(future)
    assert out.raw
