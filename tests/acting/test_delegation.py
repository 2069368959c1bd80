"""Delegation between agents and the hierarchical process, against the simulator."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from runtime.conftest import sim_llm

from fastcrew import Agent, Crew, Process, Task
from fastcrew.sim import serve
from fastcrew.tools import tool


def agents(llm, **lead_kwargs) -> tuple[Agent, Agent]:
    lead = Agent(
        role="Lead Writer",
        goal="Write well",
        backstory="Delegates research.",
        llm=llm,
        **lead_kwargs,
    )
    researcher = Agent(role="Researcher", goal="Find facts", backstory="Careful.", llm=llm)
    return lead, researcher


async def test_an_agent_delegates_to_its_coworker_as_a_nested_call_of_the_run():
    async with serve(tool_rounds=1, parallel_calls=1) as sim:
        llm = sim_llm(sim.base_url)
        lead, researcher = agents(llm, allow_delegation=True)
        task = Task(description="Write about {topic}", expected_output="A paragraph", agent=lead)
        out = await Crew(agents=[lead, researcher], tasks=[task]).akickoff({"topic": "tides"})
        stats = sim.stats()
    messages = out.tasks_output[0].messages
    call = next(m for m in messages if m.get("tool_calls"))["tool_calls"][0]
    assert call["function"]["name"] in ("delegate_work_to_coworker", "ask_question_to_coworker")
    assert '"Researcher"' in call["function"]["arguments"]  # the enum of real roles
    result = next(m for m in messages if m.get("role") == "tool")["content"]
    assert "no coworker" not in result.lower()
    assert result.startswith("Simulated answer")  # the coworker's own answer came back
    assert out.tasks_output[0].delegations == 1
    # lead asks → tool call; the coworker answers (1 call); lead's final answer: 3 requests
    assert stats["requests_total"] == 3
    assert out.token_usage.successful_requests == 3


async def test_delegation_needs_a_coworker():
    async with serve(tool_rounds=1) as sim:
        lead, _ = agents(sim_llm(sim.base_url), allow_delegation=True)
        task = Task(description="Write", expected_output="Text", agent=lead)
        out = await Crew(agents=[lead], tasks=[task]).akickoff()
        assert sim.stats()["tool_calls"] == 0  # alone in its crew: no coworker tools
    assert out.raw


async def test_hierarchical_crew_with_manager_llm_delegates_every_task():
    async with serve(tool_rounds=1, parallel_calls=1) as sim:
        llm = sim_llm(sim.base_url)
        writer, researcher = agents(llm)
        tasks = [
            Task(description="Research {topic}", expected_output="Facts"),
            Task(description="Write about {topic}", expected_output="A paragraph"),
        ]
        crew = Crew(
            agents=[writer, researcher],
            tasks=tasks,
            process=Process.hierarchical,
            manager_llm=llm,
        )
        out = await crew.akickoff({"topic": "tides"})
        stats = sim.stats()
    assert [t.agent for t in out.tasks_output] == ["Crew Manager", "Crew Manager"]
    # per task: manager asks (tool call), a coworker answers, manager's final answer
    assert stats["requests_total"] == 6 == out.token_usage.successful_requests
    assert stats["tool_calls"] == 2


async def test_hierarchical_crew_with_a_manager_agent():
    async with serve(tool_rounds=1, parallel_calls=1) as sim:
        llm = sim_llm(sim.base_url)
        writer, researcher = agents(llm)
        boss = Agent(role="Editor in Chief", goal="Ship", backstory="Decisive.", llm=llm)
        crew = Crew(
            agents=[writer, researcher],
            tasks=[Task(description="Cover {topic}", expected_output="A story")],
            process=Process.hierarchical,
            manager_agent=boss,
        )
        out = await crew.akickoff({"topic": "tides"})
    assert out.tasks_output[0].agent == "Editor in Chief"


def test_hierarchical_validation_errors_as_crewai_gives_them():
    llm = sim_llm("http://127.0.0.1:9/v1")
    writer, _researcher = agents(llm)
    task = Task(description="x", expected_output="y")
    with pytest.raises(ValidationError, match="manager_llm` or `manager_agent` is required"):
        Crew(agents=[writer], tasks=[task], process=Process.hierarchical)
    with pytest.raises(ValidationError, match="should not be included in the agents list"):
        Crew(agents=[writer], tasks=[task], process=Process.hierarchical, manager_agent=writer)

    @tool("Anything")
    def anything(q: str) -> str:
        """Does anything."""
        return q

    boss = Agent(role="Boss", goal="g", backstory="b", llm=llm, tools=[anything])
    with pytest.raises(ValidationError, match="should not have tools"):
        Crew(agents=[writer], tasks=[task], process=Process.hierarchical, manager_agent=boss)


def test_coworker_tools_are_made_once_per_crew_and_go_with_it():
    import gc
    import weakref

    from fastcrew.runtime.acting import task_toolbox
    from fastcrew.runtime.run_state import Run

    lead, researcher = agents(sim_llm("http://127.0.0.1:9"), allow_delegation=True)
    task = Task(description="Write", expected_output="Text", agent=lead)
    crew = Crew(agents=[lead, researcher], tasks=[task])
    made = [task_toolbox(Run({}, agents=(lead, researcher), crew=crew), lead, task) for _ in "ab"]
    first, second = (box.tools for box in made if box is not None)
    assert len(first) == 2
    assert all(a is b for a, b in zip(first, second, strict=True))  # the same tool objects
    gone = weakref.ref(crew)
    del crew, made, first, second
    gc.collect()
    assert gone() is None  # the cache does not keep the crew
