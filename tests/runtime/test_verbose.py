"""``verbose=True`` prints a readable trace of the run on stdout (as CrewAI does), against the
simulator: the crew's start, each task with its agent, each tool call and result, the final
answer (cut when long) and the crew's finish with its usage."""

from __future__ import annotations

import pytest

from fastcrew import Agent, Crew, Task
from fastcrew.runtime.trace import ANSWER_CHARS
from fastcrew.sim import serve
from fastcrew.tools import tool

from .conftest import agent, sim_llm


@tool("Word Counter")
def count_words(text: str) -> str:
    """Counts the words in a text."""
    return f"COUNTED {len(text.split())} words"


def two_task_crew(llm, *, crew_verbose: bool = False, agent_verbose: bool = False) -> Crew:
    researcher = Agent(
        role="Researcher",
        goal="Find facts",
        backstory="Careful.",
        llm=llm,
        tools=[count_words],
        verbose=agent_verbose,
    )
    writer = agent(llm, role="Writer")
    research = Task(
        name="research",
        description="Research {topic} thoroughly",
        expected_output="Facts",
        agent=researcher,
    )
    write = Task(description="Write about {topic}", expected_output="A paragraph", agent=writer)
    return Crew(agents=[researcher, writer], tasks=[research, write], verbose=crew_verbose)


async def test_a_verbose_crew_prints_its_run(capsys: pytest.CaptureFixture[str]):
    async with serve(tool_rounds=1, parallel_calls=1) as sim:
        out = await two_task_crew(sim_llm(sim.base_url), crew_verbose=True).akickoff(
            {"topic": "batteries"}
        )
    printed = capsys.readouterr().out
    lines = printed.splitlines()
    order = [
        "# Crew 'crew' started: 2 task(s), sequential process",
        "## Task 1 'research' (agent: Researcher)",
        "   Research batteries thoroughly",
        "   tool: Word Counter(",
        "     -> COUNTED",
        "   final answer (Researcher):",
        "## Task 2 'Write about batteries' (agent: Writer)",
        "   Write about batteries",
        "   final answer (Writer):",
        "# Crew 'crew' finished in ",
    ]
    at = [next(i for i, line in enumerate(lines) if line.startswith(want)) for want in order]
    assert at == sorted(at), printed
    usage = out.token_usage
    assert (
        f"{usage.successful_requests} LLM call(s), {usage.total_tokens} tokens "
        f"({usage.prompt_tokens} prompt, {usage.completion_tokens} completion)"
    ) in lines[-1]
    assert out.tasks_output[1].raw.strip().splitlines()[0] in printed  # the answer itself


async def test_a_verbose_agent_traces_only_its_own_tasks(capsys: pytest.CaptureFixture[str]):
    async with serve(tool_rounds=1, parallel_calls=1) as sim:
        await two_task_crew(sim_llm(sim.base_url), agent_verbose=True).akickoff({"topic": "x"})
    printed = capsys.readouterr().out
    assert "## Task 1 'research' (agent: Researcher)" in printed
    assert "   tool: Word Counter(" in printed
    assert "final answer (Researcher)" in printed
    assert "Writer" not in printed  # not verbose
    assert "# Crew" not in printed  # the crew is not verbose


async def test_not_verbose_prints_nothing(capsys: pytest.CaptureFixture[str]):
    async with serve(tool_rounds=1, parallel_calls=1) as sim:
        await two_task_crew(sim_llm(sim.base_url)).akickoff({"topic": "x"})
    assert capsys.readouterr().out == ""


async def test_long_answers_are_cut_and_a_direct_agent_call_is_traced(
    capsys: pytest.CaptureFixture[str],
):
    async with serve(completion_tokens=400) as sim:
        talker = agent(sim_llm(sim.base_url), role="Talker", verbose=True)
        result = await talker.akickoff("Tell me everything about solid-state batteries")
    printed = capsys.readouterr().out
    assert len(result.raw) > ANSWER_CHARS
    assert "## Agent 'Talker'\n   Tell me everything about solid-state batteries" in printed
    assert f"... (+{len(result.raw.strip()) - ANSWER_CHARS} chars)" in printed
    assert len(printed) < ANSWER_CHARS + 400


async def test_a_failing_task_is_traced(capsys: pytest.CaptureFixture[str], closed_url: str):
    crew = Crew(
        agents=[agent(sim_llm(closed_url))],
        tasks=[Task(description="d", expected_output="e", agent=agent(sim_llm(closed_url)))],
        verbose=True,
    )
    with pytest.raises(Exception, match=r"."):
        await crew.akickoff()
    printed = capsys.readouterr().out
    assert "   task 'd' failed: LLMConnectionError: " in printed
