"""CrewAI compatibility: ``Agent.kickoff`` (CrewAI's "lite agent"), as CrewAI 1.15's
``lib/crewai/tests/agents/test_lite_agent.py`` pins it down (written for fastcrew, not
copied). CrewAI's tests replay recorded OpenAI answers or answer with a ``Mock`` LLM; here the
agent answers from the simulator (or a ``BaseLLM`` subclass), so the tests check what
reached the model and what came back rather than a recorded sentence.

The rules, as in CrewAI 1.15.30: ``kickoff(messages, response_format=None)`` returns a
``LiteAgentOutput`` (``raw``, ``pydantic``, ``agent_role``, ``usage_metrics`` as a dict —
that call's usage only, guardrail retries included — ``messages``, ``str()`` is ``raw``);
the agent's ``guardrail`` (a callable taking the output, or criteria in plain language
checked by the agent's LLM) runs on the answer: a passing string replaces ``raw``, a passing
model becomes ``pydantic``, a rejection sends the feedback back and asks again, and after
``guardrail_max_retries`` retries "Agent's guardrail failed validation after N retries"
is raised (fastcrew's ``GuardrailError``, whatever the type: CrewAI raises a bare
``ValueError``; the test matches on ``Exception``). Inside a running event loop (an
``async def`` flow method) ``kickoff`` returns the coroutine, which the flow awaits.

Covered: 23 of its 34 tests here, 3 more below (each test here is named after the one it
covers; a few more test fastcrew's side: refused ``input_files``, string guardrail rejections,
the coroutine returned inside a running loop).
``test_lite_agent_with_custom_llm_and_guardrails`` and
``test_lite_agent_verbose_false_suppresses_printer_output`` build CrewAI's deprecated
``LiteAgent`` class; fastcrew has only ``Agent`` (the same behaviour), so they run with it. The
event halves of ``test_lite_agent_with_tools`` and the guardrail tests
(``ToolUsageStartedEvent``, ``LLMGuardrail*Event``; fastcrew emits no events) are replaced by
counting the calls. ``test_agent_kickoff_with_mcp_tools`` runs a real stdio MCP server where
CrewAI patches ``Agent.get_mcp_tools``; ``test_lite_agent_with_invalid_llm`` checks the
``ValueError`` for an object that is no LLM (CrewAI patches its ``create_llm``).

The three ``test_lite_agent_memory_*`` tests are covered in ``test_agent_memory.py`` (two
deliberately different: ``memory_for()`` instead of the private ``_memory``; ``Agent.kickoff``'s
recall of 20 memories, saved without a role, instead of the deprecated ``LiteAgent``'s 10).

Left out (8): ``test_sets_flow_context_when_inside_flow`` (it only checks
``LiteAgentExecutionStartedEvent``: no events; the kickoff inside a flow is covered below);
``test_agent_kickoff_with_platform_tools`` (platform ``apps``: refused by name); the four file
tests (``test_agent_kickoff_with_files_parameter`` and the three ``test_prepare_kickoff_*``
tests: ``input_files`` raise ``UnsupportedFeatureError``, and ``_prepare_kickoff`` is private);
the two ``TestUsageMetricsDeltaSince`` tests (``UsageMetrics.delta_since`` is not implemented:
fastcrew counts each run's usage itself, with no snapshots to subtract).
"""

from __future__ import annotations

import json
import re
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field
from runtime.conftest import sim_llm

from fastcrew import LLM, Agent, BaseLLM, LiteAgentOutput, UnsupportedFeatureError
from fastcrew.flow import Flow, listen, start
from fastcrew.sim import SpawnedSim, spawn
from fastcrew.tools import BaseTool


class WebLookup(BaseTool):
    name: str = "search_web"
    description: str = "Finds what the web says on a subject."

    def _run(self, query: str) -> str:
        return f"Found information about {query}: 21 million people."


class Arithmetic(BaseTool):
    name: str = "calculate"
    description: str = "Evaluates an arithmetic expression."

    def _run(self, expression: str) -> str:
        return f"The result of {expression} is 50"


class Player(BaseModel):
    name: str
    country: str


@pytest.fixture(scope="module")
def spawned() -> Iterator[SpawnedSim]:
    """A simulator in a child process: sync kickoffs run on the runtime's home loop."""
    with spawn() as server:
        yield server


def agent_on(llm: Any, **kwargs: Any) -> Agent:
    kwargs.setdefault("role", "Research Assistant")
    kwargs.setdefault("goal", "Find information about the population of Tokyo")
    kwargs.setdefault("backstory", "You are a helpful research assistant.")
    return Agent(llm=llm, **kwargs)


# -- kickoff, tools, structured output, usage ---------------------------------------------------


@pytest.mark.parametrize("verbose", [True, False])
def test_agent_kickoff_preserves_parameters(spawned: SpawnedSim, verbose: bool) -> None:
    agent = agent_on(
        sim_llm(spawned.base_url),
        role="Test Agent",
        goal="Test Goal",
        backstory="Test Backstory",
        tools=[WebLookup(), Arithmetic()],
        max_iter=10,
        verbose=verbose,
    )
    result = agent.kickoff("Test query")
    assert isinstance(result, LiteAgentOutput)
    assert (agent.role, agent.goal) == ("Test Agent", "Test Goal")
    assert agent.backstory == "Test Backstory"
    assert [type(t) for t in agent.tools] == [WebLookup, Arithmetic]
    assert (agent.max_iter, agent.verbose) == (10, verbose)
    assert result.raw


def test_lite_agent_with_tools(spawned: SpawnedSim) -> None:
    """The tool runs and its result reaches the answer (CrewAI reads it from a recorded
    answer, then checks a ``ToolUsageStartedEvent`` names the tool and the agent)."""
    calls: list[str] = []

    class CountingSearch(WebLookup):
        def _run(self, query: str) -> str:
            calls.append(query)
            return super()._run(query)

    agent = agent_on(sim_llm(spawned.base_url), tools=[CountingSearch()], verbose=True)
    result = agent.kickoff("What is the population of Tokyo?")
    assert isinstance(result, LiteAgentOutput)
    assert "tool results: search_web: Found information about" in result.raw
    assert "21 million" in result.raw
    assert len(calls) == 1
    assert any(m["role"] == "tool" for m in result.messages)


def test_lite_agent_structured_output(spawned: SpawnedSim) -> None:
    class SimpleOutput(BaseModel):
        summary: str = Field(description="A brief summary of findings")
        confidence: int = Field(description="Confidence level from 1-100")

    agent = agent_on(sim_llm(spawned.base_url), tools=[WebLookup()])
    result = agent.kickoff("What is the population of Tokyo?", response_format=SimpleOutput)
    assert isinstance(result, LiteAgentOutput)
    assert isinstance(result.pydantic, SimpleOutput)
    assert isinstance(result.pydantic.summary, str)
    assert result.pydantic.summary
    assert isinstance(result.pydantic.confidence, int)
    assert json.loads(result.raw) == result.pydantic.model_dump()
    assert str(result) == result.raw  # as in CrewAI: raw, even with a model
    assert result.to_dict() == result.pydantic.model_dump()
    assert result.usage_metrics is not None


def test_lite_agent_returns_usage_metrics(spawned: SpawnedSim) -> None:
    agent = agent_on(sim_llm(spawned.base_url), tools=[WebLookup()])
    result = agent.kickoff("What is the population of Tokyo?")
    assert isinstance(result, LiteAgentOutput)
    assert result.usage_metrics is not None
    assert result.usage_metrics["total_tokens"] > 0
    assert result.usage_metrics["successful_requests"] == 2  # the tool call, then the answer
    assert result.token_usage.total_tokens == result.usage_metrics["total_tokens"]


def test_lite_agent_output_includes_messages(spawned: SpawnedSim) -> None:
    result = agent_on(sim_llm(spawned.base_url), tools=[WebLookup()]).kickoff(
        "What is the population of Tokyo?"
    )
    assert isinstance(result, LiteAgentOutput)
    assert isinstance(result.messages, list)
    assert result.messages
    assert result.messages[-1] == {"role": "assistant", "content": result.raw}
    assert result.agent_role == "Research Assistant"


async def test_lite_agent_returns_usage_metrics_async(sim: Any) -> None:
    agent = agent_on(sim_llm(sim.base_url), tools=[WebLookup()])
    result = await agent.kickoff_async("What is the population of Tokyo?")
    assert isinstance(result, LiteAgentOutput)
    assert "21 million" in result.raw
    assert result.usage_metrics is not None
    stats = sim.stats()
    assert result.usage_metrics["prompt_tokens"] == stats["prompt_tokens"] > 0
    assert result.usage_metrics["completion_tokens"] == stats["completion_tokens"] > 0


def test_lite_agent_standalone_still_works(spawned: SpawnedSim) -> None:
    agent = agent_on(sim_llm(spawned.base_url), role="Standalone Agent")
    result = agent.kickoff(messages="What is 5+5? Reply with just the number.")
    assert isinstance(result, LiteAgentOutput)
    assert "What is 5+5?" in result.raw  # the simulator quotes the request


def test_lite_agent_verbose_false_suppresses_printer_output(
    spawned: SpawnedSim, capsys: pytest.CaptureFixture[str]
) -> None:
    agent_on(sim_llm(spawned.base_url), verbose=False).kickoff("Say hello")
    assert capsys.readouterr().out == ""
    agent_on(sim_llm(spawned.base_url), verbose=True).kickoff("Say hello")
    assert "Research Assistant" in capsys.readouterr().out  # the contrast: verbose prints


def test_input_files_are_refused(spawned: SpawnedSim) -> None:
    """CrewAI's file tests (left out): ``input_files`` are not supported, and say so."""
    agent = agent_on(sim_llm(spawned.base_url))
    with pytest.raises(UnsupportedFeatureError, match="input_files"):
        agent.kickoff("Analyze the document", input_files={"doc.pdf": b"%PDF"})


# -- usage is per call ---------------------------------------------------------------------------


def _usage_of_one_call(base_url: str) -> dict[str, Any]:
    result = agent_on(sim_llm(base_url), role="baseline").kickoff("question one")
    assert isinstance(result, LiteAgentOutput)
    assert result.usage_metrics is not None
    return result.usage_metrics


def test_agents_sharing_one_llm_report_per_call_usage(spawned: SpawnedSim) -> None:
    """``TestKickoffUsageMetricsArePerCall.test_agents_sharing_one_llm_report_per_call_usage``:
    two agents on one LLM object each report their own call; the LLM keeps the total."""
    shared = sim_llm(spawned.base_url)
    r1 = agent_on(shared, role="agent one").kickoff("question one")
    r2 = agent_on(shared, role="agent two").kickoff("question two")
    assert isinstance(r1, LiteAgentOutput)
    assert isinstance(r2, LiteAgentOutput)
    assert r1.usage_metrics is not None
    assert r2.usage_metrics is not None
    assert r1.usage_metrics["prompt_tokens"] > 0
    assert r1.usage_metrics["successful_requests"] == r2.usage_metrics["successful_requests"] == 1
    lifetime = shared.get_token_usage_summary()
    assert (
        lifetime.prompt_tokens
        == r1.usage_metrics["prompt_tokens"] + (r2.usage_metrics["prompt_tokens"])
    )
    assert lifetime.successful_requests == 2


def test_repeated_kickoffs_on_same_agent_report_per_call_usage(spawned: SpawnedSim) -> None:
    agent = agent_on(sim_llm(spawned.base_url))
    r1 = agent.kickoff("question one")
    r2 = agent.kickoff("question two")
    assert isinstance(r1, LiteAgentOutput)
    assert isinstance(r2, LiteAgentOutput)
    assert r1.usage_metrics is not None
    assert r1.usage_metrics["prompt_tokens"] > 0
    assert r2.usage_metrics == r1.usage_metrics  # same-sized questions, one call each


async def test_async_kickoff_reports_per_call_usage(sim: Any) -> None:
    shared = sim_llm(sim.base_url)
    r1 = await agent_on(shared, role="agent one").kickoff_async("question one")
    r2 = await agent_on(shared, role="agent two").kickoff_async("question two")
    assert r1.usage_metrics is not None
    assert r1.usage_metrics["prompt_tokens"] > 0
    assert r2.usage_metrics == r1.usage_metrics
    assert r1.usage_metrics["prompt_tokens"] * 2 == sim.stats()["prompt_tokens"]


def test_guardrail_retry_usage_includes_all_attempts(spawned: SpawnedSim) -> None:
    baseline = _usage_of_one_call(spawned.base_url)
    attempts: list[str] = []

    def flaky_guardrail(output: LiteAgentOutput) -> tuple[bool, Any]:
        attempts.append(output.raw)
        if len(attempts) == 1:
            return (False, "Please try again.")
        return (True, output.raw)

    agent = agent_on(sim_llm(spawned.base_url), role="baseline", guardrail=flaky_guardrail)
    result = agent.kickoff("question one")
    assert isinstance(result, LiteAgentOutput)
    assert result.usage_metrics is not None
    assert len(attempts) == 2
    assert result.usage_metrics["successful_requests"] == 2 * baseline["successful_requests"]
    # the retry carries the first answer and the feedback: more prompt tokens than twice one
    assert result.usage_metrics["prompt_tokens"] > 2 * baseline["prompt_tokens"]
    assert result.usage_metrics["total_tokens"] > 2 * baseline["total_tokens"]


# -- guardrails ------------------------------------------------------------------------------


def test_guardrail_is_called_using_string(spawned: SpawnedSim) -> None:
    """(A callable, despite the name.) Rejected once, accepted on the retry, which carries
    the feedback."""
    seen: list[LiteAgentOutput] = []

    def fail_then_pass_guardrail(output: LiteAgentOutput) -> tuple[bool, Any]:
        seen.append(output)
        if len(seen) == 1:
            return (False, "Missing required format - please use a numbered list")
        return (True, output)

    agent = agent_on(
        sim_llm(spawned.base_url),
        role="Sports Analyst",
        guardrail=fail_then_pass_guardrail,
        guardrail_max_retries=3,
    )
    result = agent.kickoff(messages="Top 5 best soccer players in the world?")
    assert isinstance(result, LiteAgentOutput)
    assert len(seen) == 2
    assert result.raw == seen[1].raw != seen[0].raw
    feedback = result.messages[-2]
    assert feedback["role"] == "user"
    assert "please use a numbered list" in feedback["content"]


def test_guardrail_is_called_using_callable(spawned: SpawnedSim) -> None:
    calls: list[LiteAgentOutput] = []

    def guardrail(output: LiteAgentOutput) -> tuple[bool, str]:
        calls.append(output)
        return (True, "Pelé - Santos, 1958")

    agent = agent_on(sim_llm(spawned.base_url), role="Sports Analyst", guardrail=guardrail)
    result = agent.kickoff(messages="Top 1 best players in the world?")
    assert isinstance(result, LiteAgentOutput)
    assert len(calls) == 1
    assert isinstance(calls[0], LiteAgentOutput)
    assert "Pelé - Santos, 1958" in result.raw


def test_guardrail_reached_attempt_limit(spawned: SpawnedSim) -> None:
    calls: list[str] = []

    def guardrail(output: LiteAgentOutput) -> tuple[bool, str]:
        calls.append(output.raw)
        return (False, "You are not allowed to include Brazilian players")

    agent = agent_on(
        sim_llm(spawned.base_url),
        role="Sports Analyst",
        guardrail=guardrail,
        guardrail_max_retries=2,
    )
    with pytest.raises(
        Exception, match="Agent's guardrail failed validation after 2 retries"
    ) as info:
        agent.kickoff(messages="Top 10 best players in the world?")
    assert "not allowed to include Brazilian players" in str(info.value)
    assert len(calls) == 3  # 2 retries + the first answer


def test_agent_output_when_guardrail_returns_base_model(spawned: SpawnedSim) -> None:
    agent = agent_on(
        sim_llm(spawned.base_url),
        role="Sports Analyst",
        guardrail=lambda output: (True, Player(name="Lionel Messi", country="Argentina")),
    )
    result = agent.kickoff(messages="Top 10 best players in the world?")
    assert isinstance(result, LiteAgentOutput)
    assert result.pydantic == Player(name="Lionel Messi", country="Argentina")
    assert result.raw.startswith("Simulated answer")  # as in CrewAI: raw is kept


class _CustomLLM(BaseLLM):
    """Answers the agent with a fixed text, and a guardrail check with a verdict."""

    response: str = "Custom response"
    call_count: int = 0

    def call(self, messages: Any, *args: Any, **kwargs: Any) -> str:
        self.call_count += 1
        if "valid" in str(messages) and "feedback" in str(messages):
            return '{"valid": true, "feedback": null}'
        return self.response


def test_lite_agent_with_custom_llm_and_guardrails() -> None:
    """A string guardrail is checked by the agent's own LLM (a ``BaseLLM`` subclass here)."""
    custom_llm = _CustomLLM(model="custom-model", response="Brazilian soccer players are the best!")
    agent = Agent(
        role="Sports Analyst",
        goal="Analyze soccer players",
        backstory="You analyze soccer players and their performance.",
        llm=custom_llm,
        guardrail="Only include Brazilian players",
    )
    result = agent.kickoff("Tell me about the best soccer players")
    assert isinstance(result, LiteAgentOutput)
    assert custom_llm.call_count == 2  # the answer, then the check
    assert "Brazilian" in result.raw

    agent2 = Agent(
        role="Test Agent",
        goal="Test goal",
        backstory="Test backstory",
        llm=_CustomLLM(model="custom-model", response="Original response"),
        guardrail=lambda output: (True, "Modified by guardrail"),
    )
    result2 = agent2.kickoff("Test message")
    assert isinstance(result2, LiteAgentOutput)
    assert result2.raw == "Modified by guardrail"


class _RejectingLLM(_CustomLLM):
    """Its guardrail verdicts reject, with feedback; it records what it was sent."""

    seen: list[str] = Field(default_factory=list)

    def call(self, messages: Any, *args: Any, **kwargs: Any) -> str:
        self.seen.append(str(messages))
        if "valid" in str(messages) and "feedback" in str(messages):
            return '{"valid": false, "feedback": "Name Brazilian players only"}'
        return self.response


def test_string_guardrail_rejection_is_retried() -> None:
    """Beyond CrewAI's file: a string guardrail's rejection sends its feedback back to the
    agent, and the verdicts' feedback ends the error when the retries run out."""
    llm = _RejectingLLM(model="custom-model")
    agent = Agent(
        role="Sports Analyst",
        goal="Analyze soccer players",
        backstory="b",
        llm=llm,
        guardrail="Only include Brazilian players",
        guardrail_max_retries=1,
    )
    with pytest.raises(
        Exception, match="Agent's guardrail failed validation after 1 retries"
    ) as info:
        agent.kickoff("Top 3 players?")
    assert "Name Brazilian players only" in str(info.value)
    assert len(llm.seen) == 4  # answer, check, retried answer, check
    assert "Name Brazilian players only" in llm.seen[2]


def test_guardrail_must_be_a_callable_or_a_string(spawned: SpawnedSim) -> None:
    with pytest.raises(ValueError, match="guardrail"):
        agent_on(sim_llm(spawned.base_url), guardrail=42)


# -- inside a flow -------------------------------------------------------------------------------


def test_lite_agent_inside_flow_sync(spawned: SpawnedSim) -> None:
    """A plain ``def`` method runs in the runtime's thread pool: ``kickoff`` answers there."""
    log: list[str] = []

    class TestFlow(Flow):
        @start()
        def run_agent(self) -> Any:
            log.append("flow_started")
            agent = agent_on(sim_llm(spawned.base_url), role="Test Agent")
            result = agent.kickoff(messages="What is 2+2? Reply with just the number.")
            log.append("agent_completed")
            return result

    result = TestFlow().kickoff()
    assert log == ["flow_started", "agent_completed"]
    assert isinstance(result, LiteAgentOutput)


def test_lite_agent_inside_flow_with_tools(spawned: SpawnedSim) -> None:
    class TestFlow(Flow):
        @start()
        def run_agent_with_tools(self) -> Any:
            agent = agent_on(
                sim_llm(spawned.base_url), role="Calculator Agent", tools=[Arithmetic()]
            )
            return agent.kickoff(messages="Calculate 10 * 5")

    result = TestFlow().kickoff()
    assert isinstance(result, LiteAgentOutput)
    assert "tool results: calculate: The result of" in result.raw


def test_multiple_agents_in_same_flow(spawned: SpawnedSim) -> None:
    class MultiAgentFlow(Flow):
        @start()
        def first_step(self) -> Any:
            return agent_on(sim_llm(spawned.base_url), role="First Agent").kickoff("Say hello")

        @listen(first_step)
        def second_step(self, first_result: LiteAgentOutput) -> Any:
            assert isinstance(first_result, LiteAgentOutput)
            return agent_on(sim_llm(spawned.base_url), role="Second Agent").kickoff("Say bye")

    result = MultiAgentFlow().kickoff()
    assert isinstance(result, LiteAgentOutput)
    assert result.agent_role == "Second Agent"


def test_lite_agent_kickoff_async_inside_flow(spawned: SpawnedSim) -> None:
    class AsyncAgentFlow(Flow):
        @start()
        async def async_agent_step(self) -> Any:
            agent = agent_on(sim_llm(spawned.base_url), role="Async Test Agent")
            return await agent.kickoff_async(messages="What is 3+3?")

    result = AsyncAgentFlow().kickoff()
    assert isinstance(result, LiteAgentOutput)


def test_kickoff_in_a_running_loop_returns_the_coroutine(spawned: SpawnedSim) -> None:
    """As in CrewAI: in an ``async def`` flow method ``kickoff`` returns its coroutine, to be
    awaited — or returned, and the flow awaits it."""

    class LoopFlow(Flow):
        @start()
        async def awaited(self) -> Any:
            return await agent_on(sim_llm(spawned.base_url), role="Awaited").kickoff("one")

        @listen(awaited)
        async def returned(self) -> Any:
            return agent_on(sim_llm(spawned.base_url), role="Returned").kickoff("two")

    flow = LoopFlow()
    result = flow.kickoff()
    assert isinstance(result, LiteAgentOutput)
    assert result.agent_role == "Returned"
    assert [o.agent_role for o in flow.method_outputs] == ["Awaited", "Returned"]


async def test_agent_kickoff_with_mcp_tools(sim: Any) -> None:
    """CrewAI patches ``Agent.get_mcp_tools``; here a real stdio MCP server (the one of
    tests/mcp) serves the tool, and its result reaches the answer."""
    pytest.importorskip("mcp")
    from fastcrew.mcp import MCPServerStdio, close_sessions, create_static_tool_filter

    server = MCPServerStdio(
        command=sys.executable,
        args=[str(Path(__file__).parents[1] / "mcp" / "servers" / "basic.py")],
        env={"MCP_TEST_TAG": uuid.uuid4().hex},
        tool_filter=create_static_tool_filter(allowed_tool_names=["echo"]),
    )
    agent = agent_on(sim_llm(sim.base_url), role="Test Agent", mcps=[server])
    try:
        result = await agent.akickoff("Search for information about AI")
    finally:
        await close_sessions()
    assert isinstance(result, LiteAgentOutput)
    assert re.search(r"tool results: \S+: ECHO:", result.raw), result.raw


def test_lite_agent_with_invalid_llm() -> None:
    """CrewAI patches its ``create_llm`` to return None and expects a ``ValueError``; an
    object that is no LLM is refused at construction with one (``ConfigurationError``)."""
    with pytest.raises(ValueError, match="llm must be"):
        Agent(role="Test Agent", goal="Test goal", backstory="Test backstory", llm=object())


def test_llm_type_is_accepted_for_kickoff(spawned: SpawnedSim) -> None:
    """``LLM`` objects (as in every CrewAI test above) drive a kickoff unchanged."""
    llm = LLM(model="openai/gpt-4o-mini", base_url=spawned.base_url, api_key="x")
    result = agent_on(llm).kickoff("Hello")
    assert isinstance(result, LiteAgentOutput)
    assert result.raw
