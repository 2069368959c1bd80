"""``ConditionalTask``: run or skip on the previous output (sync and async conditions),
what a skip produces, how it joins async tasks, and CrewAI's crew rules."""

from __future__ import annotations

import pytest

from fastcrew import LLM, Agent, ConfigurationError, Crew, OutputFormat, Task, TaskOutput
from fastcrew.limits import RateLimit, RetryPolicy
from fastcrew.tasks.conditional_task import ConditionalTask  # CrewAI's import path

TOPIC = {"topic": "tides"}


@pytest.fixture
def writer(sim) -> Agent:
    llm = LLM(
        "openai/sim-model",
        base_url=sim.base_url,
        retry=RetryPolicy(max_attempts=1),
        rate_limit=RateLimit(rpm=None, tpm=None),
    )
    return Agent(role="Writer on {topic}", goal="Write", backstory="Terse.", llm=llm)


def _task(agent: Agent, text: str, **kwargs) -> Task:
    return Task(description=text, expected_output="One line.", agent=agent, **kwargs)


def _prompt(output: TaskOutput) -> str:
    return output.messages[1]["content"]


async def test_condition_true_runs_false_skips(sim, writer):
    seen: list[str] = []

    def mentions(word: str):
        def condition(previous: TaskOutput) -> bool:
            seen.append(previous.raw)
            return word in previous.raw

        return condition

    tasks = [
        _task(writer, "Draft about {topic}"),
        ConditionalTask(
            description="Expand {topic}",
            expected_output="More.",
            agent=writer,
            condition=mentions("Draft about tides"),
            name="expand",
        ),
        ConditionalTask(
            description="Never about {topic}",
            expected_output="Nothing.",
            agent=writer,
            condition=mentions("no such text"),
            name="never",
        ),
    ]
    result = await Crew(agents=[writer], tasks=tasks).akickoff({"topic": "tides"})
    draft, expand, never = result.tasks_output
    assert seen == [draft.raw, expand.raw]  # each condition saw the output just before it
    assert "Expand tides" in expand.raw
    assert never.raw == ""
    assert never.output_format is OutputFormat.RAW
    assert never.description == "Never about tides"
    assert never.agent == "Writer on tides"
    assert never.name == "never"
    assert result.raw == expand.raw  # the crew's answer is the last task that ran
    assert sim.stats()["requests_total"] == 2


async def test_async_condition_and_skipped_task_adds_no_context(sim, writer):
    async def never(previous: TaskOutput) -> bool:
        return False

    tasks = [
        _task(writer, "First"),
        ConditionalTask(description="Skipped", expected_output="x", agent=writer, condition=never),
        _task(writer, "Last"),
    ]
    first, skipped, last = (await Crew(agents=[writer], tasks=tasks).akickoff(TOPIC)).tasks_output
    assert skipped.raw == ""
    assert first.raw in _prompt(last)
    assert "---" not in _prompt(last).split(first.raw, 1)[1]  # nothing joined after it
    assert sim.stats()["requests_total"] == 2


async def test_condition_waits_for_pending_async_tasks(sim, writer):
    decided_on: list[str] = []

    def condition(previous: TaskOutput) -> bool:
        decided_on.append(previous.description)
        return True

    tasks = [
        _task(writer, "Branch A", async_execution=True),
        _task(writer, "Branch B", async_execution=True),
        ConditionalTask(description="Gate", expected_output="x", agent=writer, condition=condition),
    ]
    result = await Crew(agents=[writer], tasks=tasks).akickoff(TOPIC)
    assert decided_on == ["Branch B"]  # the last joined output, as CrewAI hands it
    assert "Gate" in result.tasks_output[2].raw
    assert "Branch A" in _prompt(result.tasks_output[2])


async def test_a_skip_after_async_tasks(sim, writer):
    tasks = [
        _task(writer, "Branch", async_execution=True),
        ConditionalTask(
            description="Gate", expected_output="x", agent=writer, condition=lambda _: False
        ),
    ]
    result = await Crew(agents=[writer], tasks=tasks).akickoff(TOPIC)
    assert [o.raw == "" for o in result.tasks_output] == [False, True]
    assert result.raw == result.tasks_output[0].raw


async def test_callbacks_and_output_file_skip_with_the_task(sim, writer, tmp_path):
    called: list[str] = []
    tasks = [
        _task(writer, "First"),
        ConditionalTask(
            description="Skipped",
            expected_output="x",
            agent=writer,
            condition=lambda _: False,
            callback=lambda out: called.append(out.raw),
            output_file=str(tmp_path / "skipped.md"),
        ),
    ]
    crew = Crew(agents=[writer], tasks=tasks, task_callback=lambda out: called.append("crew"))
    result = await crew.akickoff(TOPIC)
    assert result.tasks_output[1].raw == ""
    assert called == ["crew"]  # only the first task's callback ran
    assert not (tmp_path / "skipped.md").exists()


def test_should_execute_and_skipped_output_api(writer):
    task = ConditionalTask(
        description="Check {topic}", expected_output="x", agent=writer, condition=lambda o: o.raw
    )
    previous = TaskOutput(description="d", raw="yes")
    assert task.should_execute(previous) is True
    assert task.should_execute(TaskOutput(description="d", raw="")) is False
    skipped = task.get_skipped_task_output()
    assert (skipped.raw, skipped.description, skipped.output_format) == (
        "",
        "Check {topic}",
        OutputFormat.RAW,
    )


def test_crewai_rules(writer):
    plain = _task(writer, "Plain")
    gate = ConditionalTask(description="Gate", expected_output="x", agent=writer, condition=bool)
    with pytest.raises(ConfigurationError, match="at least one task that is not a Conditional"):
        Crew(agents=[writer], tasks=[gate])
    with pytest.raises(ConfigurationError, match="first task cannot be a ConditionalTask"):
        Crew(agents=[writer], tasks=[gate, plain])
    late = ConditionalTask(
        description="Late", expected_output="x", agent=writer, condition=bool, async_execution=True
    )
    with pytest.raises(ConfigurationError, match="cannot have async_execution=True"):
        Crew(agents=[writer], tasks=[plain, late])


async def test_no_condition_is_a_clear_error(writer):
    crew = Crew(
        agents=[writer],
        tasks=[
            _task(writer, "Plain"),
            ConditionalTask(description="Gate", expected_output="x", agent=writer),
        ],
    )
    with pytest.raises(ConfigurationError, match="has no condition"):
        await crew.akickoff(TOPIC)
