"""CrewAI compatibility: what happens to the tasks of a crew's run (tools in crews, input
interpolation, callbacks, conditional tasks, output files, guardrails, verbose output), as
CrewAI's ``tests/test_crew.py`` pins it down. Coverage, differences and leave-outs:
``test_crew.py``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from runtime.conftest import sim_llm

from compat.test_crew import NO_LLM, one_task_crew, researcher_and_writer
from fastcrew import Agent, ConditionalTask, Crew, InputError, Task, TaskOutput
from fastcrew.errors import ConfigurationError
from fastcrew.sim import serve
from fastcrew.tools import tool

# -- tools in crews -----------------------------------------------------------------------


async def test_function_calling_llm_is_accepted_and_the_agent_uses_its_tools(sim) -> None:
    @tool
    def look_up_greeting() -> str:
        """Tool used to retrieve a greeting."""
        return "Howdy!"

    async with serve(tool_rounds=1, parallel_calls=1) as tool_sim:
        llm = sim_llm(tool_sim.base_url)
        agent = Agent(
            role="Greeter",
            goal="Greet",
            backstory="Friendly.",
            llm=llm,
            tools=[look_up_greeting],
            function_calling_llm=sim_llm(sim.base_url),
        )
        task = Task(description="Greet", expected_output="A greeting", agent=agent)
        out = await Crew(agents=[agent], tasks=[task]).akickoff()
    assert "howdy" in out.raw.lower()
    assert sim.stats()["requests_total"] == 0  # ignored: the agent's own LLM made the calls


async def test_task_with_no_arguments() -> None:
    @tool
    def return_data() -> str:
        "Useful to get the sales related data"
        return "January: 5, February: 10, March: 15, April: 20, May: 25"

    async with serve(tool_rounds=1, parallel_calls=1) as sim:
        agent = Agent(
            role="Analyst",
            goal="Sum sales",
            backstory="Careful.",
            llm=sim_llm(sim.base_url),
            tools=[return_data],
        )
        task = Task(description="Total sales", expected_output="A number", agent=agent)
        out = await Crew(agents=[agent], tasks=[task]).akickoff()
    assert "January: 5" in out.raw
    assert out.tasks_output[0].used_tools == 1


# -- interpolation ------------------------------------------------------------------------


async def test_inputs_interpolate_agents_and_tasks_per_run(sim) -> None:
    agent = Agent(
        role="{topic} Researcher",
        goal="Express hot takes on {topic}.",
        backstory="You have a lot of experience with {topic}.",
        llm=sim_llm(sim.base_url),
    )
    task = Task(
        description="Give me an analysis around {topic}.",
        expected_output="{points} bullet points about {topic}.",
        agent=agent,
    )
    crew = Crew(agents=[agent], tasks=[task])
    out = await crew.akickoff({"topic": "AI", "points": 5})
    done = out.tasks_output[0]
    assert done.description == "Give me an analysis around AI."
    assert done.expected_output == "5 bullet points about AI."
    assert done.agent == "AI Researcher"
    system = done.messages[0]["content"]
    assert "Express hot takes on AI." in system
    assert "You have a lot of experience with AI." in system
    # differs: the templates stay as written (CrewAI rewrites them in place)
    assert (task.description, agent.role) == (
        "Give me an analysis around {topic}.",
        "{topic} Researcher",
    )


async def test_crew_does_not_interpolate_without_inputs(sim) -> None:
    out = await one_task_crew(sim_llm(sim.base_url)).akickoff()
    assert out.tasks_output[0].description == "Summarize {topic}."
    assert out.tasks_output[0].agent == "{topic} Researcher"


async def test_a_missing_input_raises_before_any_call(sim) -> None:
    # as CrewAI: with some inputs given, a missing one is a ValueError naming it (fastcrew's
    # InputError, raised before any LLM call of the run).
    with pytest.raises(InputError, match="topic"):
        await one_task_crew(sim_llm(sim.base_url)).akickoff({"other": 1})
    assert sim.stats()["requests_total"] == 0


# -- callbacks ----------------------------------------------------------------------------


async def test_task_callbacks_on_crew_and_task(sim) -> None:
    researcher, _ = researcher_and_writer(sim_llm(sim.base_url))
    on_task: list[TaskOutput] = []
    on_crew: list[TaskOutput] = []
    task = Task(
        description="Ideas",
        expected_output="5 ideas",
        agent=researcher,
        async_execution=True,
        callback=on_task.append,
    )
    out = await Crew(agents=[researcher], tasks=[task], task_callback=on_crew.append).akickoff()
    assert on_task == on_crew == [out.tasks_output[0]]
    assert isinstance(on_crew[0], TaskOutput)


async def test_the_same_callback_on_task_and_crew_runs_once(sim) -> None:
    researcher, _ = researcher_and_writer(sim_llm(sim.base_url))
    calls: list[TaskOutput] = []
    task = Task(
        description="Ideas",
        expected_output="5 ideas",
        agent=researcher,
        async_execution=True,
        callback=calls.append,
    )
    out = await Crew(agents=[researcher], tasks=[task], task_callback=calls.append).akickoff()
    assert calls == [out.tasks_output[0]]


# -- conditional tasks --------------------------------------------------------------------


async def test_conditional_tasks_skip_execute_and_collect(sim) -> None:
    researcher, writer = researcher_and_writer(sim_llm(sim.base_url))
    seen: list[str] = []

    def never(output: TaskOutput) -> bool:
        seen.append(output.raw)
        return False

    def always(output: TaskOutput) -> bool:
        seen.append(output.raw)
        return True

    tasks = [
        Task(description="First", expected_output="x", agent=researcher),
        ConditionalTask(
            description="Second", expected_output="x", agent=researcher, condition=never
        ),
        ConditionalTask(description="Third", expected_output="x", agent=writer, condition=always),
    ]
    out = await Crew(agents=[researcher, writer], tasks=tasks).akickoff()
    assert len(out.tasks_output) == 3
    assert out.tasks_output[0].raw
    assert out.tasks_output[1].raw == ""  # skipped
    assert out.tasks_output[2].raw
    assert seen == [out.tasks_output[0].raw, ""]  # each condition saw the previous output
    assert sim.stats()["requests_total"] == 2


@pytest.mark.parametrize("met", [True, False])
async def test_conditional_task_last(sim, met: bool) -> None:
    researcher, writer = researcher_and_writer(sim_llm(sim.base_url))
    calls: list[TaskOutput] = []

    def condition(output: TaskOutput) -> bool:
        calls.append(output)
        return met

    tasks = [
        Task(description="Say Hi", expected_output="Hi", agent=researcher),
        ConditionalTask(
            description="Ideas", expected_output="x", agent=writer, condition=condition
        ),
    ]
    out = await Crew(agents=[researcher, writer], tasks=tasks).akickoff()
    assert len(calls) == 1
    assert out.raw == out.tasks_output[1 if met else 0].raw  # a skip keeps the last output
    assert sim.stats()["requests_total"] == (2 if met else 1)


async def test_multiple_conditional_tasks(sim) -> None:
    researcher, writer = researcher_and_writer(sim_llm(sim.base_url))
    tasks = [
        Task(description="Research", expected_output="x", agent=researcher),
        ConditionalTask(
            description="c1", expected_output="x", agent=writer, condition=lambda _o: True
        ),
        ConditionalTask(
            description="c2", expected_output="x", agent=writer, condition=lambda _o: True
        ),
    ]
    out = await Crew(agents=[researcher, writer], tasks=tasks).akickoff()
    assert len(out.tasks_output) == 3
    assert sim.stats()["requests_total"] == 3


def test_conditional_task_rules() -> None:
    researcher, writer = researcher_and_writer(sim_llm(NO_LLM))
    alone = ConditionalTask(
        description="c", expected_output="x", agent=researcher, condition=lambda _o: True
    )
    with pytest.raises(ValueError, match="not a ConditionalTask"):
        Crew(agents=[researcher, writer], tasks=[alone])
    first_async = ConditionalTask(
        description="c",
        expected_output="x",
        agent=researcher,
        condition=lambda _o: True,
        async_execution=True,
    )
    hi = Task(description="Say Hi", expected_output="Hi", agent=writer)
    with pytest.raises(ValueError, match="first task cannot be a ConditionalTask"):
        Crew(agents=[researcher, writer], tasks=[first_async, hi])


# -- output files, guardrails, verbose, a crew of tasks only ------------------------------


async def test_crew_output_file_end_to_end(sim, tmp_path) -> None:
    agent, _ = researcher_and_writer(sim_llm(sim.base_url))
    task = Task(
        description="Explain the advantages of {topic}.",
        expected_output="Bullets",
        agent=agent,
        output_file=str(tmp_path / "output_{topic}.txt"),
    )
    out = await Crew(agents=[agent], tasks=[task]).akickoff({"topic": "AI"})
    assert (tmp_path / "output_AI.txt").read_text() == out.raw


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("../output.txt", "Path traversal"),
        ("output.txt | rm -rf /", "Shell special characters"),
        ("~/output.txt", "Shell expansion"),
        ("{invalid-name}/output.txt", "Invalid template variable"),
    ],
)
def test_crew_output_file_validation_failures(path: str, message: str) -> None:
    agent, _ = researcher_and_writer(sim_llm(NO_LLM))
    with pytest.raises(ValueError, match=message):
        Task(description="Analyze", expected_output="Results", agent=agent, output_file=path)


async def test_crew_with_failing_task_guardrails_and_feedback(sim) -> None:
    checked: list[str] = []

    def needs_two_tries(result: TaskOutput) -> tuple[bool, Any]:
        checked.append(result.raw)
        if len(checked) == 1:
            return (False, "Output must contain the keyword IMPORTANT")
        return (True, f"REPORT: {result.raw} END REPORT")

    writer = Agent(
        role="Report Writer", goal="Report", backstory="Precise.", llm=sim_llm(sim.base_url)
    )
    task = Task(
        description="Write a report about AI.",
        expected_output="A report",
        agent=writer,
        guardrail=needs_two_tries,
        guardrail_max_retries=3,
    )
    out = await Crew(agents=[writer], tasks=[task]).akickoff()
    assert out.raw.startswith("REPORT:")
    assert out.raw.endswith("END REPORT")
    assert out.tasks_output[0].raw == out.raw
    assert len(checked) == 2  # one retry
    assert "Output must contain the keyword IMPORTANT" in str(out.tasks_output[0].messages)


async def test_crew_verbose_output(sim, capsys) -> None:
    researcher, writer = researcher_and_writer(sim_llm(sim.base_url))
    tasks = [
        Task(description="Ideas", expected_output="x", agent=researcher),
        Task(description="Article", expected_output="x", agent=writer),
    ]
    loud = Crew(agents=[researcher, writer], tasks=tasks, verbose=True)
    assert await loud.akickoff() is not None
    assert loud.verbose is True
    assert "Senior Writer" in capsys.readouterr().out
    quiet = Crew(agents=[researcher, writer], tasks=tasks, verbose=False)
    assert await quiet.akickoff() is not None
    assert capsys.readouterr().out == ""


async def test_a_crew_given_only_tasks_runs(sim) -> None:
    solo = Agent(role="Solo", goal="Describe", backstory="Terse.", llm=sim_llm(sim.base_url))
    crew = Crew(tasks=[Task(description="Describe", expected_output="x", agent=solo)])
    assert crew.agents == []
    assert (await crew.akickoff()).tasks_output[0].agent == "Solo"


async def test_code_execution_flag_adds_the_interpreter(sim) -> None:
    # differs: CrewAI 1.15 gives no tool for allow_code_execution (its Docker tool is
    # deprecated); fastcrew's agent gets its subprocess interpreter (docs/tools.md).
    from compat.test_hierarchical import Recording

    llm = Recording(sim_llm(sim.base_url))
    coder = Agent(
        role="Programmer", goal="Code", backstory="Pro.", llm=llm, allow_code_execution=True
    )
    task = Task(description="Sum 1 to 10", expected_output="A number", agent=coder)
    await Crew(agents=[coder], tasks=[task]).akickoff()
    assert llm.names() == ["code_interpreter"]


async def test_kickoff_loop_is_not_blocked(sim) -> None:
    # test_async_crew.py's concurrency, from the caller's side: akickoff leaves the loop free
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    pulse = asyncio.create_task(ticker())
    try:
        await one_task_crew(sim_llm(sim.base_url)).akickoff({"topic": "AI"})
    finally:
        pulse.cancel()
    assert ticks > 0


def test_configuration_errors_are_value_errors() -> None:
    # CrewAI's validation errors are pydantic ValidationErrors, i.e. ValueErrors
    assert issubclass(ConfigurationError, ValueError)
