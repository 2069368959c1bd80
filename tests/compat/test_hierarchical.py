"""CrewAI compatibility: the hierarchical process and delegation, as CrewAI's own tests pin
them down (CrewAI 1.15.30; written for fastcrew, not copied): the hierarchical and delegation
tests of ``tests/test_crew.py``, ``tests/tools/agent_tools/test_agent_tools.py`` and the
delegation/hierarchical tests of ``tests/agents/test_agent.py``. Runs on the simulator; a
recording LLM (any object with ``achat`` is an LLM to fastcrew) shows the tools each request
offered, where CrewAI's tests patch ``Task.execute_sync`` to see them.

Covered from ``test_crew.py`` (24): ``test_hierarchical_process``,
``test_manager_llm_requirement_for_hierarchical_process``,
``test_manager_agent_delegating_to_assigned_task_agent``,
``test_manager_agent_delegating_to_all_agents``,
``test_manager_agent_delegates_with_varied_role_cases``, ``test_crew_with_delegating_agents``,
``test_crew_with_delegating_agents_should_not_override_task_tools`` / ``..._agent_tools``,
``test_task_tools_override_agent_tools`` / ``..._with_allow_delegation``,
``test_delegation_is_not_enabled_if_there_are_only_one_agent``,
``test_agents_do_not_get_delegation_tools_with_there_is_only_one_agent``,
``test_agent_usage_metrics_are_captured_for_hierarchical_process``,
``test_hierarchical_kickoff_usage_metrics_include_manager``,
``test_hierarchical_crew_creation_tasks_with_agents`` / ``..._with_async_execution`` /
``..._with_sync_last``, ``test_manager_agent``, ``test_manager_agent_in_agents_raises_exception``,
``test_manager_agent_with_tools_raises_exception``, ``test_hierarchical_verbose_manager_agent``
/ ``..._verbose_false_...``, ``test_crew_kickoff_for_each_works_with_manager_agent_copy``,
``test_task_tools_preserve_code_execution_tools``.

Covered from ``test_agent_tools.py``: all 8 (the coworker tools called directly: CrewAI's
``AgentTools(agents=[...]).tools()`` is ``fastcrew.runtime.acting.delegation.delegation_tools``).

Deliberately different (tested as fastcrew behaves, the test says why):

- the manager's coworker tools are given per task at run time, so ``crew.manager_agent.tools``
  stays empty (CrewAI stores them on the manager it made);
- a ``manager_agent``'s own ``allow_delegation`` is not switched on (CrewAI mutates the
  user's agent): the manager gets the coworker tools whatever it says;
- a manager with tools is refused when the crew is made (CrewAI: at kickoff);
- ``crew.copy()`` is shallow, so the copy shares the manager (CrewAI copies it): runs never
  write into agents, so sharing is safe;
- the coworker tools' wording is fastcrew's; what is tested is that they name the roles.

Left out from ``test_agent.py``:
``test_do_not_allow_crewai_trigger_context_for_first_task_hierarchical``
(the CrewAI AMP trigger payload, a feature fastcrew does not claim); its other tests are about
single agents, not delegation.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from runtime.conftest import sim_llm

from fastcrew import Agent, Crew, Process, Task
from fastcrew.runtime.acting.delegation import delegation_tools
from fastcrew.sim import serve, spawn
from fastcrew.tools import BaseTool, tool


class Recording:
    """An LLM that forwards to another and records the tools each request offered."""

    def __init__(self, llm: Any) -> None:
        self.llm = llm
        self.offered: list[list[dict[str, Any]]] = []

    async def achat(self, messages: Any, **kwargs: Any) -> Any:
        self.offered.append([t["function"] for t in kwargs.get("tools") or ()])
        return await self.llm.achat(messages, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.llm, name)

    def names(self, request: int = 0) -> list[str]:
        return [t["name"] for t in self.offered[request]]

    def descriptions(self, request: int = 0) -> str:
        return "\n".join(t["description"] for t in self.offered[request])

    def coworker_enum(self, request: int = 0) -> list[str]:
        return self.offered[request][0]["parameters"]["properties"]["coworker"]["enum"]


def staff(llm: Any) -> tuple[Agent, Agent, Agent]:
    researcher = Agent(role="Researcher", goal="Research", backstory="Expert.", llm=llm)
    writer = Agent(role="Senior Writer", goal="Write", backstory="Writer.", llm=llm)
    ceo = Agent(role="CEO", goal="Lead", backstory="Boss.", llm=llm, allow_delegation=True)
    return researcher, writer, ceo


IDEAS = "Come up with 5 ideas for an article, with a paragraph each."
COWORKER_TOOLS = ["delegate_work_to_coworker", "ask_question_to_coworker"]


async def test_hierarchical_process() -> None:
    async with serve(tool_rounds=1, parallel_calls=1) as sim:
        researcher, writer, _ = staff(sim_llm(sim.base_url))
        crew = Crew(
            agents=[researcher, writer],
            tasks=[Task(description=IDEAS, expected_output="5 bullet points")],
            process=Process.hierarchical,
            manager_llm=sim_llm(sim.base_url),
        )
        out = await crew.akickoff()
    assert out.raw
    assert out.tasks_output[0].agent == "Crew Manager"  # the manager ran it
    assert out.tasks_output[0].delegations == 1


def test_manager_llm_requirement_for_hierarchical_process() -> None:
    researcher, writer, _ = staff(sim_llm("http://127.0.0.1:9/v1"))
    task = Task(description=IDEAS, expected_output="5 bullet points")
    with pytest.raises(ValidationError):
        Crew(agents=[researcher, writer], tasks=[task], process=Process.hierarchical)


async def hierarchical_run(
    tasks: list[Task], agents: list[Agent], sim: Any, **crew_kwargs: Any
) -> tuple[Recording, Crew, Any]:
    manager_llm = Recording(sim_llm(sim.base_url))
    crew = Crew(
        agents=agents,
        tasks=tasks,
        process=Process.hierarchical,
        manager_llm=manager_llm,
        **crew_kwargs,
    )
    out = await crew.akickoff()
    return manager_llm, crew, out


async def test_manager_delegates_to_the_assigned_task_agent_only() -> None:
    # test_manager_agent_delegating_to_assigned_task_agent and
    # test_hierarchical_crew_creation_tasks_with_agents
    async with serve(tool_rounds=1, parallel_calls=1) as sim:
        researcher, writer, _ = staff(sim_llm(sim.base_url))
        for assigned, other in ((researcher, writer), (writer, researcher)):
            task = Task(description=IDEAS, expected_output="5 bullet points", agent=assigned)
            llm, _crew, out = await hierarchical_run([task], [researcher, writer], sim)
            assert llm.names() == COWORKER_TOOLS
            assert assigned.role in llm.descriptions()
            assert other.role not in llm.descriptions()
            assert llm.coworker_enum() == [assigned.role]
            assert out.tasks_output[0].agent == "Crew Manager"


async def test_manager_delegates_to_all_agents_when_the_task_has_none() -> None:
    async with serve(tool_rounds=1, parallel_calls=1) as sim:
        researcher, writer, _ = staff(sim_llm(sim.base_url))
        task = Task(description=IDEAS, expected_output="5 bullet points")
        llm, crew, _ = await hierarchical_run([task], [researcher, writer], sim)
    assert llm.names() == COWORKER_TOOLS
    assert "Researcher, Senior Writer" in llm.descriptions()
    assert llm.coworker_enum() == ["Researcher", "Senior Writer"]
    assert crew.manager_agent is not None  # the one made from manager_llm, as in CrewAI
    assert crew.manager_agent.tools == []  # differs: its coworker tools are per task


async def test_manager_delegates_with_varied_role_cases() -> None:
    async with serve(tool_rounds=1, parallel_calls=1) as sim:
        llm = sim_llm(sim.base_url)
        spaced = Agent(role=" Researcher ", goal="Research", backstory="Spaces.", llm=llm)
        caps = Agent(role="SENIOR WRITER", goal="Write", backstory="Caps.", llm=llm)
        task = Task(description="Research and write about AI.", expected_output="An article")
        recording, _crew, out = await hierarchical_run([task], [spaced, caps], sim)
    descriptions = recording.descriptions()
    assert " Researcher " in descriptions
    assert "SENIOR WRITER" in descriptions
    answer = next(m for m in out.tasks_output[0].messages if m.get("role") == "tool")
    assert answer["content"].startswith("Simulated answer")  # the coworker was found


async def test_hierarchical_tasks_with_async_execution_and_sync_last() -> None:
    async with serve(tool_rounds=1, parallel_calls=1) as sim:
        researcher, writer, ceo = staff(sim_llm(sim.base_url))
        ceo = ceo.model_copy(update={"allow_delegation": False})
        first = Task(
            description="Write one paragraph about AI.",
            expected_output="A paragraph",
            agent=writer,
            async_execution=True,
        )
        last = Task(description="Write one paragraph about AI.", expected_output="A paragraph")
        llm, _crew, out = await hierarchical_run([first, last], [writer, researcher, ceo], sim)
    # the async task went to its own agent only; the last one, without an agent, to all
    tools_seen = [i for i, offered in enumerate(llm.offered) if offered]
    by_task = {
        llm.coworker_enum(i)[0] if len(llm.coworker_enum(i)) == 1 else "all": i for i in tools_seen
    }
    assert "Senior Writer" in by_task
    assert "Senior Writer, Researcher, CEO" in llm.descriptions(by_task["all"])
    assert len(out.tasks_output) == 2


async def test_usage_metrics_include_the_manager_and_the_coworkers() -> None:
    # test_agent_usage_metrics_are_captured_for_hierarchical_process and
    # test_hierarchical_kickoff_usage_metrics_include_manager
    async with serve(tool_rounds=1, parallel_calls=1) as sim:
        llm = sim_llm(sim.base_url)
        researcher = Agent(role="Researcher", goal="Say hi", backstory="Howdy.", llm=llm)
        manager = Agent(role="Manager", goal="Coordinate", backstory="On track.", llm=llm)
        task = Task(description="Say hello", expected_output="Hello", agent=researcher)
        crew = Crew(
            agents=[researcher], tasks=[task], manager_agent=manager, process=Process.hierarchical
        )
        out = await crew.akickoff()
        requests = sim.stats()["requests_total"]
    usage = out.token_usage
    assert usage.total_tokens > 0
    assert usage.prompt_tokens > 0
    assert usage.completion_tokens > 0
    # manager's tool call, the researcher's answer, the manager's final answer
    assert usage.successful_requests == requests == 3
    # differs: CrewAI also sums it into crew.usage_metrics; fastcrew's crew is a template,
    # the usage is the run's (docs/compatibility.md, Crew)


async def test_a_manager_agent_delegates_without_being_changed() -> None:
    async with serve(tool_rounds=1, parallel_calls=1) as sim:
        researcher, writer, _ = staff(sim_llm(sim.base_url))
        manager = Agent(
            role="Manager",
            goal="Manage",
            backstory="Experienced.",
            llm=Recording(sim_llm(sim.base_url)),
            allow_delegation=False,
        )
        crew = Crew(
            agents=[researcher, writer],
            tasks=[Task(description=IDEAS, expected_output="5 bullet points")],
            process=Process.hierarchical,
            manager_agent=manager,
        )
        out = await crew.akickoff()
    assert manager.llm.names() == COWORKER_TOOLS  # it delegates all the same
    assert manager.allow_delegation is False  # differs: CrewAI switches it on
    assert crew.manager_agent is manager
    assert out.tasks_output[0].agent == "Manager"


def test_manager_agent_in_agents_or_with_tools_is_refused() -> None:
    llm = sim_llm("http://127.0.0.1:9/v1")
    researcher, writer, _ = staff(llm)
    task = Task(description=IDEAS, expected_output="5 bullet points")
    manager = Agent(role="Manager", goal="Manage", backstory="Experienced.", llm=llm)
    with pytest.raises(ValidationError):
        Crew(
            agents=[researcher, writer, manager],
            tasks=[task],
            process=Process.hierarchical,
            manager_agent=manager,
        )

    @tool
    def testing_tool(first_number: int, second_number: int) -> int:
        """Useful for when you need to multiply two numbers together."""
        return first_number * second_number

    armed = Agent(role="Manager", goal="g", backstory="b", llm=llm, tools=[testing_tool])
    # differs in timing only: refused when the crew is made, not at kickoff
    with pytest.raises(Exception, match="Manager agent should not have tools"):
        Crew(
            agents=[researcher, writer],
            tasks=[task],
            process=Process.hierarchical,
            manager_agent=armed,
        )


@pytest.mark.parametrize("verbose", [True, False])
def test_the_made_manager_is_as_verbose_as_the_crew(verbose: bool) -> None:
    llm = sim_llm("http://127.0.0.1:9/v1")
    researcher, writer, _ = staff(llm)
    crew = Crew(
        agents=[researcher, writer],
        tasks=[Task(description=IDEAS, expected_output="5 bullet points")],
        process=Process.hierarchical,
        manager_llm=llm,
        verbose=verbose,
    )
    assert crew.manager_agent is not None
    assert crew.manager_agent.verbose is verbose


async def test_kickoff_for_each_with_a_manager_agent_and_its_copy() -> None:
    async with serve(tool_rounds=1, parallel_calls=1) as sim:
        llm = sim_llm(sim.base_url)
        researcher, writer, _ = staff(llm)
        manager = Agent(role="Project Manager", goal="Manage", backstory="Pro.", llm=llm)
        crew = Crew(
            agents=[researcher, writer],
            tasks=[Task(description="Ideas about {topic}", expected_output="5 bullets")],
            manager_agent=manager,
            process=Process.hierarchical,
        )
        copy = crew.copy()
        assert copy.manager_agent is not None
        assert (copy.manager_agent.role, copy.manager_agent.goal) == (manager.role, manager.goal)
        assert copy.manager_agent is manager  # differs: shallow copy, runs never write to it
        outs = await copy.akickoff_for_each([{"topic": "AI"}, {"topic": "tides"}])
    assert [o.tasks_output[0].agent for o in outs] == ["Project Manager"] * 2


# -- delegation in the sequential process --------------------------------------------------


class EchoInput(BaseModel):
    query: str


class EchoTool(BaseTool):
    name: str = "Test Tool"
    description: str = "A test tool that just returns the input"
    args_schema: type[BaseModel] = EchoInput

    def _run(self, query: str) -> str:
        return f"Processed: {query}"


class OtherEchoTool(EchoTool):
    name: str = "Another Test Tool"
    description: str = "Another test tool"

    def _run(self, query: str) -> str:
        return f"Another processed: {query}"


async def first_request_tools(agent_kwargs: dict[str, Any], task_tools: list[Any]) -> list[str]:
    async with serve(tool_rounds=0) as sim:
        llm = Recording(sim_llm(sim.base_url))
        lead = Agent(role="CEO", goal="Lead", backstory="Boss.", llm=llm, **agent_kwargs)
        writer = Agent(
            role="Senior Writer", goal="Write", backstory="W.", llm=sim_llm(sim.base_url)
        )
        task = Task(description="Plan", expected_output="A plan", agent=lead, tools=task_tools)
        await Crew(agents=[lead, writer], tasks=[task]).akickoff()
    return llm.names()


async def test_crew_with_delegating_agents() -> None:
    async with serve(tool_rounds=1, parallel_calls=1) as sim:
        _, writer, ceo = staff(sim_llm(sim.base_url))
        task = Task(description="Produce an article about AI", expected_output="Article", agent=ceo)
        out = await Crew(agents=[ceo, writer], tasks=[task]).akickoff()
    assert out.raw
    assert out.tasks_output[0].delegations == 1


async def test_delegation_does_not_override_task_or_agent_tools() -> None:
    with_task_tool = await first_request_tools({"allow_delegation": True}, [EchoTool()])
    assert "test_tool" in with_task_tool
    assert "delegate_work_to_coworker" in with_task_tool
    agent_tool = await first_request_tools({"allow_delegation": True, "tools": [EchoTool()]}, [])
    assert "test_tool" in agent_tool
    assert "delegate_work_to_coworker" in agent_tool


async def test_task_tools_override_agent_tools() -> None:
    agent_tool, task_tool = EchoTool(), OtherEchoTool()
    names = await first_request_tools({"tools": [agent_tool]}, [task_tool])
    assert names == ["another_test_tool"]
    names = await first_request_tools(
        {"tools": [agent_tool], "allow_delegation": True}, [task_tool]
    )
    assert names == ["another_test_tool", *COWORKER_TOOLS]


async def test_task_tools_preserve_code_execution_tools() -> None:
    names = await first_request_tools(
        {"allow_delegation": True, "allow_code_execution": True}, [EchoTool()]
    )
    # CrewAI 1.15 adds no code tool any more (its Docker tool is deprecated); fastcrew's
    # allow_code_execution adds its interpreter (docs/tools.md)
    assert names == ["test_tool", *COWORKER_TOOLS, "code_interpreter"]


async def test_no_delegation_tools_for_an_agent_alone() -> None:
    for allow in (True, False):
        async with serve(tool_rounds=1) as sim:
            llm = Recording(sim_llm(sim.base_url))
            agent = Agent(role="Solo", goal="g", backstory="b", llm=llm, allow_delegation=allow)
            task = Task(description="Say howdy", expected_output="Howdy!", agent=agent)
            out = await Crew(agents=[agent], tasks=[task]).akickoff()
        assert llm.names() == []
        assert out.raw
        assert agent.tools == []
        assert task.tools == []


# -- the coworker tools called directly (test_agent_tools.py) -----------------------------


def test_coworker_tools_called_directly() -> None:
    with spawn() as server:
        researcher = Agent(
            role="researcher", goal="Research AI", backstory="Expert.", llm=sim_llm(server.base_url)
        )
        delegate, ask = delegation_tools([researcher])
        for coworker in ("researcher", "[researcher]", " Researcher"):
            answer = delegate.run(coworker=coworker, task="Your take on AI", context="Hmm")
            assert answer.startswith("Simulated answer"), coworker
            answer = ask.run(coworker=coworker, question="Do you like AI?", context="Hmm")
            assert answer.startswith("Simulated answer"), coworker


async def test_coworker_tools_name_the_choices_for_a_wrong_coworker() -> None:
    researcher = Agent(
        role="researcher", goal="g", backstory="b", llm=sim_llm("http://127.0.0.1:9/v1")
    )
    for one in delegation_tools([researcher]):
        other = {"task": "x"} if one.name.startswith("Delegate") else {"question": "x"}
        answer = await one.arun(coworker="writer", context="y", **other)
        assert "'writer'" in answer
        assert "- researcher" in answer
