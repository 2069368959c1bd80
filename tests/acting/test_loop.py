"""The agent loop with tools, against the simulator: native calls, ReAct, limits, streaming."""

from __future__ import annotations

import asyncio
import threading

import pytest
from pydantic import BaseModel, Field
from runtime.conftest import sim_llm

from fastcrew import Agent, Crew, ExecutionTimeoutError, Task
from fastcrew.runtime import StreamChunkType
from fastcrew.sim import serve
from fastcrew.tools import BaseTool, tool


def crew_of(agent: Agent, **task_kwargs) -> Crew:
    task = Task(description="Research {topic}", expected_output="Facts", agent=agent, **task_kwargs)
    return Crew(agents=[agent], tasks=[task])


def writer(llm, tools, **kwargs) -> Agent:
    return Agent(
        role="Researcher", goal="Find facts", backstory="Careful.", llm=llm, tools=tools, **kwargs
    )


@tool("Word Counter")
def count_words(text: str) -> str:
    """Counts the words in a text."""
    return f"COUNTED {len(text.split())} words"


async def test_a_tool_result_reaches_the_model_and_usage_is_exact():
    async with serve(tool_rounds=1, parallel_calls=1) as sim:
        out = await crew_of(writer(sim_llm(sim.base_url), [count_words])).akickoff(
            {"topic": "batteries"}
        )
        stats = sim.stats()
    assert "COUNTED" in out.raw  # the simulator's final answer quotes the tool results
    assert out.tasks_output[0].used_tools == 1
    assert stats["tool_calls"] == 1
    assert stats["tool_results"] == 1
    assert out.token_usage.successful_requests == stats["requests_total"] == 2
    assert out.token_usage.prompt_tokens == stats["prompt_tokens"]
    assert out.token_usage.completion_tokens == stats["completion_tokens"]


class Multiply(BaseModel):
    first_number: int = Field(description="The first number")
    second_number: int = Field(description="The second number")


class MultiplicationTool(BaseTool):
    name: str = "Multiplication Tool"
    description: str = "Multiplies two numbers."
    args_schema: type[BaseModel] = Multiply

    def _run(self, first_number: int, second_number: int) -> str:
        self.__dict__.setdefault("threads", []).append(threading.current_thread())
        return f"PRODUCT {first_number * second_number}"


async def test_a_sync_basetool_runs_in_a_worker_thread_with_validated_arguments():
    multiply = MultiplicationTool()
    async with serve(tool_rounds=1, parallel_calls=1) as sim:
        out = await crew_of(writer(sim_llm(sim.base_url), [multiply])).akickoff({"topic": "x"})
    assert "PRODUCT" in out.raw
    assert multiply.__dict__["threads"]
    assert all(t is not threading.main_thread() for t in multiply.__dict__["threads"])


async def test_parallel_async_tool_calls_run_concurrently_on_the_runs_loop():
    barrier = asyncio.Barrier(2)  # only passes if both calls are in flight at once
    loops: list[asyncio.AbstractEventLoop] = []

    @tool("Alpha")
    async def alpha(query: str) -> str:
        """Looks something up in source alpha."""
        loops.append(asyncio.get_running_loop())
        await asyncio.wait_for(barrier.wait(), 5)
        return "ALPHA-RESULT"

    @tool("Beta")
    async def beta(query: str) -> str:
        """Looks something up in source beta."""
        loops.append(asyncio.get_running_loop())
        await asyncio.wait_for(barrier.wait(), 5)
        return "BETA-RESULT"

    async with serve(tool_rounds=1, parallel_calls=2) as sim:
        out = await crew_of(writer(sim_llm(sim.base_url), [alpha, beta])).akickoff({"topic": "x"})
    assert loops == [asyncio.get_running_loop()] * 2
    assert "ALPHA-RESULT" in out.raw
    assert "BETA-RESULT" in out.raw
    calls = next(m for m in out.tasks_output[0].messages if m.get("tool_calls"))["tool_calls"]
    results = [m for m in out.tasks_output[0].messages if m.get("role") == "tool"]
    assert [r["tool_call_id"] for r in results] == [c["id"] for c in calls]  # the model's order


async def test_result_as_answer_makes_the_tool_result_the_final_answer():
    @tool("Final Report", result_as_answer=True)
    def report(subject: str) -> str:
        """Writes the final report."""
        return "THE REPORT ITSELF"

    async with serve(tool_rounds=3, parallel_calls=1) as sim:
        out = await crew_of(writer(sim_llm(sim.base_url), [report])).akickoff({"topic": "x"})
        requests = sim.stats()["requests_total"]
    assert out.raw == "THE REPORT ITSELF"
    assert requests == 1  # no further LLM call after the tool answered


async def test_a_repeated_call_runs_again_by_default():
    calls = 0

    @tool("Clock")
    def clock() -> str:
        """Tells the time."""
        nonlocal calls
        calls += 1
        return "NOON"

    async with serve(tool_rounds=3, parallel_calls=1) as sim:
        out = await crew_of(writer(sim_llm(sim.base_url), [clock])).akickoff({"topic": "x"})
    assert calls == 3  # caching is opt-in (CrewAI 1.15): a live-data tool runs every time
    assert out.raw.count("NOON") >= 1


async def test_a_repeated_call_is_served_from_the_runs_cache_when_opted_in():
    calls = 0

    @tool("Clock")
    def clock() -> str:
        """Tells the time."""
        nonlocal calls
        calls += 1
        return "NOON"

    async with serve(tool_rounds=3, parallel_calls=1) as sim:
        agent = writer(sim_llm(sim.base_url), [clock], cache=True)
        out = await crew_of(agent).akickoff({"topic": "x"})
    assert calls == 1  # three identical calls, one execution
    assert out.raw.count("NOON") >= 1


async def test_a_failing_tool_becomes_the_observation_and_the_run_goes_on():
    @tool("Flaky")
    def flaky(query: str) -> str:
        """Always fails."""
        raise RuntimeError("the backend is down")

    async with serve(tool_rounds=1, parallel_calls=1) as sim:
        out = await crew_of(writer(sim_llm(sim.base_url), [flaky])).akickoff({"topic": "x"})
    assert "the backend is down" in out.raw
    assert (out.tasks_output[0].tools_errors, out.tasks_output[0].used_tools) == (1, 0)


async def test_max_iter_bounds_the_steps_then_asks_for_a_final_answer():
    async with serve(tool_rounds=50, parallel_calls=1) as sim:
        agent = writer(sim_llm(sim.base_url), [count_words], max_iter=3)
        out = await crew_of(agent).akickoff({"topic": "x"})
        stats = sim.stats()
    assert stats["tool_call_answers"] == 3
    assert stats["requests_total"] == 4  # three tool steps, one forced final answer
    assert out.raw


async def test_react_only_model_uses_the_text_format():
    async with serve(tool_rounds=1) as sim:
        llm = sim_llm(sim.base_url, supports_function_calling=False)
        out = await crew_of(writer(llm, [count_words])).akickoff({"topic": "x"})
        stats = sim.stats()
    assert stats["tool_call_answers"] == 0  # no native calls: no `tools` were sent
    assert "COUNTED" in out.raw
    assert stats["requests_total"] == 2


async def test_a_provider_that_rejects_tools_falls_back_to_react_for_good():
    async with serve(tool_rounds=1, tool_support="reject") as sim:
        llm = sim_llm(sim.base_url)
        crew = crew_of(writer(llm, [count_words]))
        first = await crew.akickoff({"topic": "x"})
        assert not llm.supports_function_calling()
        second = await crew.akickoff({"topic": "y"})
        stats = sim.stats()
    assert "COUNTED" in first.raw
    assert "COUNTED" in second.raw
    assert stats["by_status"]["400"] == 1  # asked once with tools, never again


async def test_malformed_arguments_go_back_to_the_model_as_the_result():
    async with serve(tool_rounds=1, parallel_calls=1, malformed_args_rate=1.0) as sim:
        ran = []

        @tool("Strict")
        def strict(count: int) -> str:
            """Needs an integer."""
            ran.append(count)
            return "RAN"

        out = await crew_of(writer(sim_llm(sim.base_url), [strict])).akickoff({"topic": "x"})
    assert ran == []  # never called with bad arguments
    assert out.raw  # the run still finished


class Facts(BaseModel):
    facts: list[str]


async def test_structured_output_stays_exact_across_tool_steps():
    async with serve(tool_rounds=1, parallel_calls=1) as sim:
        agent = writer(sim_llm(sim.base_url), [count_words])
        out = await crew_of(agent, output_pydantic=Facts).akickoff({"topic": "x"})
        stats = sim.stats()
    assert isinstance(out.pydantic, Facts)
    assert out.token_usage.successful_requests == stats["requests_total"]


async def test_streaming_with_tools_yields_each_tool_call_once():
    async with serve(tool_rounds=2, parallel_calls=2) as sim:

        @tool("Other")
        def other(query: str) -> str:
            """Another source."""
            return "OTHER"

        agent = writer(sim_llm(sim.base_url), [count_words, other])
        task = Task(description="Research {topic}", expected_output="Facts", agent=agent)
        crew = Crew(agents=[agent], tasks=[task], stream=True)
        stream = await crew.akickoff({"topic": "x"})
        chunks = [chunk async for chunk in stream]
        stats = sim.stats()
    tool_chunks = [c for c in chunks if c.chunk_type is StreamChunkType.TOOL_CALL]
    assert len(tool_chunks) == stats["tool_calls"] == 4
    assert len({c.tool_call.tool_id for c in tool_chunks}) == 4
    assert stream.result.raw


async def test_max_execution_time_cancels_a_tool_mid_call():
    cancelled = asyncio.Event()

    @tool("Slow")
    async def slow(query: str) -> str:
        """Takes a long time."""
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "never"

    async with serve(tool_rounds=1, parallel_calls=1) as sim:
        agent = writer(sim_llm(sim.base_url), [slow], max_execution_time=0.3)
        with pytest.raises(ExecutionTimeoutError):
            await crew_of(agent).akickoff({"topic": "x"})
    assert cancelled.is_set()


async def test_agent_kickoff_uses_its_tools_too():
    async with serve(tool_rounds=1, parallel_calls=1) as sim:
        agent = writer(sim_llm(sim.base_url), [count_words])
        out = await agent.akickoff("How many words?")
    assert "COUNTED" in out.raw


async def test_react_instructions_are_in_the_system_prompt_once_after_a_guardrail_retry():
    tries = []

    def second_try_passes(output):
        tries.append(output.raw)
        return (len(tries) > 1, "try again")

    async with serve(tool_rounds=1) as sim:
        llm = sim_llm(sim.base_url, supports_function_calling=False)
        out = await crew_of(writer(llm, [count_words]), guardrail=second_try_passes).akickoff(
            {"topic": "x"}
        )
    assert len(tries) == 2
    system = out.tasks_output[0].messages[0]["content"]
    assert system.count("You can use the tools below") == 1
