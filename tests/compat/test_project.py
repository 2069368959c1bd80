"""CrewAI compatibility: ``@CrewBase`` projects, as CrewAI's own ``tests/test_project.py`` and
``tests/project/*.py`` pin them down (CrewAI 1.15.30; written for fastcrew, not copied), plus
the ``@CrewBase`` kickoff-hook tests of ``tests/test_crew.py`` (``test_before_kickoff_callback``,
``test_before_kickoff_without_inputs``). Runs on the simulator (agents without ``llm`` use
``$OPENAI_BASE_URL``).

Covered from ``test_project.py``: 17 of 19 — memoization of ``@agent`` / ``@task`` / ``@crew``
(also on plain classes), task names from methods, a YAML string ``guardrail``, before/after
kickoff hooks (several, ``None`` inputs), the crew's name from the class (or an explicit one,
with ``agents_config = None`` / ``tasks_config = None``), and ``async def`` ``@agent`` /
``@task`` methods (memoized, returning the object, named).

Covered from ``project/test_callback_with_taskoutput.py``: both (a ``@callback`` method as a
task's callback, called directly and by a run).

Deliberately different: ``test_agent_function_calling_llm`` — YAML ``function_calling_llm:``
is accepted and ignored (the agent's own LLM makes the tool calls), so the agent has no
``function_calling_llm`` to compare; the test checks that the entry is accepted.

Left out: ``test_internal_crew_with_mcp`` (``mcp_server_params`` / ``get_mcp_tools``, not yet
in fastcrew: agents take MCP servers with ``mcps=[...]``, docs/compatibility.md, Projects);
``project/test_crew_loader.py`` (37 tests) and ``project/test_json_loader.py`` (53 tests):
CrewAI's JSON/JSONC project definitions (``crew.json``, ``agents/*.json``), a feature fastcrew
does not claim.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from fastcrew import LLM, Agent, Crew, Task, TaskOutput
from fastcrew.agents.agent_builder.base_agent import BaseAgent
from fastcrew.project import (
    CrewBase,
    after_kickoff,
    agent,
    before_kickoff,
    callback,
    crew,
    llm,
    task,
)

AGENTS = """
researcher:
  role: >
    {topic} Senior Data Researcher
  goal: >
    Uncover cutting-edge developments in {topic}
  backstory: >
    A seasoned researcher.
  function_calling_llm: local_llm
reporting_analyst:
  role: >
    {topic} Reporting Analyst
  goal: >
    Create detailed reports on {topic}
  backstory: >
    A meticulous analyst.
"""

TASKS = """
research_task:
  description: >
    Conduct a thorough research about {topic}
  expected_output: >
    10 bullet points about {topic}
  agent: researcher
reporting_task:
  description: >
    Expand each topic into a full section.
  expected_output: >
    A full report
  agent: reporting_analyst
"""


@pytest.fixture
def sim_env(sim, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", sim.base_url)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    (tmp_path / "agents.yaml").write_text(textwrap.dedent(AGENTS))
    (tmp_path / "tasks.yaml").write_text(textwrap.dedent(TASKS))
    guarded = TASKS.replace(
        "  agent: researcher\n",
        "  agent: researcher\n  guardrail: ensure each bullet has its source\n",
    )
    (tmp_path / "guarded.yaml").write_text(textwrap.dedent(guarded))
    return tmp_path


def internal_crew(config: Path, tasks_file: str = "tasks.yaml") -> type:
    """CrewAI's InternalCrew: YAML agents and tasks, an @llm, a before and an after hook."""

    @CrewBase
    class InternalCrew:
        agents_config = str(config / "agents.yaml")
        tasks_config = str(config / tasks_file)
        agents: list[BaseAgent]
        tasks: list[Task]

        @llm
        def local_llm(self) -> LLM:
            return LLM(model="openai/model_name", api_key="None", base_url="http://127.0.0.1:9/v1")

        @agent
        def researcher(self) -> Agent:
            return Agent(config=self.agents_config["researcher"])

        @agent
        def reporting_analyst(self) -> Agent:
            return Agent(config=self.agents_config["reporting_analyst"])

        @task
        def research_task(self) -> Task:
            return Task(config=self.tasks_config["research_task"])

        @task
        def reporting_task(self) -> Task:
            return Task(config=self.tasks_config["reporting_task"])

        @before_kickoff
        def modify_inputs(self, inputs: dict[str, Any] | None) -> dict[str, Any] | None:
            if inputs:
                inputs["topic"] = "Bicycles"
            return inputs

        @after_kickoff
        def modify_outputs(self, outputs: Any) -> Any:
            outputs.raw = outputs.raw + " post processed"
            return outputs

        @crew
        def crew(self) -> Crew:
            return Crew(agents=self.agents, tasks=self.tasks)

    return InternalCrew


class SimpleCrew:
    """No @CrewBase: the decorators memoize on any class."""

    @agent
    def simple_agent(self) -> Agent:
        return Agent(role="Simple Agent", goal="Simple Goal", backstory="Simple Backstory")

    @task
    def simple_task(self) -> Task:
        return Task(description="Simple Description", expected_output="Simple Output")

    @task
    def custom_named_task(self) -> Task:
        return Task(description="Simple", expected_output="Simple Output", name="Custom")


def test_agent_task_and_crew_memoization(sim_env, config: Path) -> None:
    simple = SimpleCrew()
    assert simple.simple_agent() is simple.simple_agent()
    assert simple.simple_task() is simple.simple_task()
    internal = internal_crew(config)()
    assert internal.crew() is internal.crew()


def test_task_name(sim_env) -> None:
    assert SimpleCrew().simple_task().name == "simple_task"
    assert SimpleCrew().custom_named_task().name == "Custom"


def test_yaml_function_calling_llm_is_accepted(sim_env, config: Path) -> None:
    # differs: test_agent_function_calling_llm reads agent.function_calling_llm; fastcrew
    # accepts the entry (its name is checked) and ignores it.
    internal = internal_crew(config)()
    assert internal.researcher().role.strip() == "{topic} Senior Data Researcher"
    assert not hasattr(internal.researcher(), "function_calling_llm")


def test_task_guardrail(sim_env, config: Path) -> None:
    # (run by the agent's LLM as a check; the simulator would not pass it, so no run here)
    internal = internal_crew(config, "guarded.yaml")()
    assert internal.research_task().guardrail == "ensure each bullet has its source"
    assert internal.reporting_task().guardrail is None


async def test_before_and_after_kickoff_modification(sim, sim_env, config: Path) -> None:
    internal = internal_crew(config)()
    result = await internal.crew().akickoff({"topic": "LLMs"})
    assert result.tasks_output[0].description.startswith(
        "Conduct a thorough research about Bicycles"
    )
    assert result.raw.endswith(" post processed")
    # test_before_kickoff_with_none_input: the hook gets None and returns it
    result = await internal_crew(config)().crew().akickoff(None)
    assert "{topic}" in result.tasks_output[0].description  # no inputs: nothing filled


async def test_multiple_before_after_kickoff(sim, sim_env, config: Path) -> None:
    @CrewBase
    class MultipleHooksCrew:
        agents_config = str(config / "agents.yaml")
        tasks_config = str(config / "tasks.yaml")

        @llm
        def local_llm(self) -> LLM:
            return LLM(model="openai/model_name", api_key="None", base_url="http://127.0.0.1:9/v1")

        @agent
        def researcher(self) -> Agent:
            return Agent(config=self.agents_config["researcher"])

        @agent
        def reporting_analyst(self) -> Agent:
            return Agent(config=self.agents_config["reporting_analyst"])

        @task
        def research_task(self) -> Task:
            return Task(config=self.tasks_config["research_task"])

        @task
        def reporting_task(self) -> Task:
            return Task(config=self.tasks_config["reporting_task"])

        @before_kickoff
        def first_before(self, inputs: dict[str, Any]) -> dict[str, Any]:
            inputs["topic"] = "Bicycles"
            return inputs

        @before_kickoff
        def second_before(self, inputs: dict[str, Any]) -> dict[str, Any]:
            inputs["topic"] = "plants"
            return inputs

        @after_kickoff
        def first_after(self, outputs: Any) -> Any:
            outputs.raw = outputs.raw + " processed first"
            return outputs

        @after_kickoff
        def second_after(self, outputs: Any) -> Any:
            outputs.raw = outputs.raw + " processed second"
            return outputs

        @crew
        def crew(self) -> Crew:
            return Crew(agents=self.agents, tasks=self.tasks)

    result = await MultipleHooksCrew().crew().akickoff({"topic": "LLMs"})
    assert "plants" in result.tasks_output[0].description
    assert result.raw.endswith(" processed first processed second")


def test_crew_name_and_none_configs(sim_env, config: Path) -> None:
    assert internal_crew(config)()._crew_name == "InternalCrew"
    sample_agent = Agent(role="r", goal="g", backstory="b")
    sample_task = Task(description="d", expected_output="o", agent=sample_agent)

    @CrewBase
    class ImplicitNameCrewFactory:
        agents_config = None  # CrewAI accepts None: no config file
        tasks_config = None
        agents: list[BaseAgent] = [sample_agent]
        tasks: list[Task] = [sample_task]

        @crew
        def crew(self) -> Crew:
            return Crew(agents=[sample_agent], tasks=[sample_task])

    @CrewBase
    class NamedCrewFactory(ImplicitNameCrewFactory):
        @crew
        def crew(self) -> Crew:
            return Crew(name="My Explicit Name", agents=[sample_agent], tasks=[sample_task])

    implicit = ImplicitNameCrewFactory()
    assert (implicit.agents_config, implicit.tasks_config) == ({}, {})
    assert implicit.crew().name == "ImplicitNameCrewFactory"
    assert NamedCrewFactory().crew().name == "My Explicit Name"


def _hooks_crew() -> tuple[type, list[dict[str, Any]]]:
    received: list[dict[str, Any]] = []

    @CrewBase
    class TestCrewClass:
        agents_config = None
        tasks_config = None

        def __init__(self) -> None:
            self.inputs_modified = False

        @before_kickoff
        def modify_inputs(self, inputs: dict[str, Any]) -> dict[str, Any]:
            self.inputs_modified = True
            inputs["modified"] = True
            received.append(inputs)
            return inputs

        @agent
        def my_agent(self) -> Agent:
            return Agent(role="Test Agent", goal="Test", backstory="Test")

        @task
        def my_task(self) -> Task:
            return Task(description="Test task", expected_output="Test", agent=self.my_agent())

        @crew
        def crew(self) -> Crew:
            return Crew(agents=self.agents, tasks=self.tasks)

    return TestCrewClass, received


@pytest.mark.parametrize("inputs", [{"initial": True}, None])
async def test_before_kickoff_callback_with_and_without_inputs(sim, sim_env, inputs) -> None:
    # test_crew.py: test_before_kickoff_callback / test_before_kickoff_without_inputs
    cls, received = _hooks_crew()
    instance = cls()
    made = instance.crew()
    assert len(made.before_kickoff_callbacks) == 1
    await made.akickoff(inputs=inputs)
    assert instance.inputs_modified
    assert received[0].get("modified") is True


def test_async_agent_and_task_methods(sim_env) -> None:
    calls: list[str] = []

    class AsyncCrew:
        @agent
        async def async_agent(self) -> Agent:
            calls.append("agent")
            return Agent(role="Async Agent", goal="Async Goal", backstory="Async Backstory")

        @task
        async def my_async_task(self) -> Task:
            calls.append("task")
            return Task(description="Async Description", expected_output="Async Output")

    made = AsyncCrew()
    first_agent, first_task = made.async_agent(), made.my_async_task()
    assert isinstance(first_agent, Agent)
    assert isinstance(first_task, Task)
    assert made.async_agent() is first_agent
    assert made.my_async_task() is first_task
    assert calls == ["agent", "task"]
    assert first_task.name == "my_async_task"


async def test_async_methods_inside_a_running_loop(sim_env) -> None:
    # an async @agent called from async code (a flow, a server) still gives the agent
    class AsyncCrew:
        @agent
        async def async_agent(self) -> Agent:
            return Agent(role="Async Agent", goal="Async Goal", backstory="Async Backstory")

    assert isinstance(AsyncCrew().async_agent(), Agent)


def _callback_crew() -> type:
    @CrewBase
    class TestCrew:
        agents_config = None
        tasks_config = None
        callback_called = False
        received: TaskOutput | None = None

        @callback
        def task_callback(self, output: TaskOutput) -> None:
            self.callback_called = True
            self.received = output

        @task
        def test_task(self) -> Task:
            return Task(
                description="Test task", expected_output="Test output", callback=self.task_callback
            )

    return TestCrew


def test_callback_decorator_with_taskoutput(sim_env) -> None:
    made = _callback_crew()()
    output = TaskOutput(description="Test task", agent="Test Agent", raw="test result")
    made.test_task().callback(output)
    assert made.callback_called
    assert made.received == output


async def test_callback_decorator_with_taskoutput_integration(sim, sim_env) -> None:
    made = _callback_crew()()
    runner = Agent(role="Test Agent", goal="Test goal", backstory="Test backstory")
    the_task = made.test_task().model_copy(update={"agent": runner})
    out = await Crew(agents=[runner], tasks=[the_task]).akickoff()
    assert made.callback_called
    assert made.received is not None
    assert made.received.raw == out.raw
