"""CrewAI compatibility: crews, as CrewAI's own ``tests/test_crew.py`` and
``tests/crew/test_async_crew.py`` pin them down (CrewAI 1.15.30; written for fastcrew, not
copied). Runs on the simulator, where CrewAI's tests replay cassettes or patch
``Task.execute_sync``: what a patched call checked (how many tasks ran, with what) is read
from the simulator's request count and the outputs. The hierarchical process and delegation
are in ``test_hierarchical.py``, the tool cache in ``test_tools_cache.py``, ``@CrewBase``
kickoff hooks in ``test_project.py``; this file's tests are split with ``test_crew_tasks.py``
(what happens to the tasks of a run: tools, interpolation, callbacks, conditional tasks,
output files, guardrails, verbose output).

Covered from ``test_crew.py`` (51 here and in ``test_crew_tasks.py``; with the other files
100 of 131): validation (only
conditional tasks, no tasks, future context, tasks without agents, ``config=``), sequential
runs and their outputs, async tasks (completion, call counts, outputs kept in order across
sync/async and conditional tasks), every kickoff variant (``kickoff_for_each`` single,
multiple, empty, invalid, failing; ``kickoff_async``; ``kickoff_for_each_async``; empty
async), usage metrics (also streamed), ``function_calling_llm``, a tool without arguments,
input interpolation, ``fetch_inputs``, task callbacks (crew, task, both, the same one),
conditional tasks (skip, execute, last output, several, rules), output files (placeholders,
unsafe paths), guardrails (retry with feedback), verbose output, the default name, a crew
given only tasks.

Covered from ``test_async_crew.py``: 10 of its 11 tests (its three other ``test_*`` names
are fixtures) — ``akickoff`` basic, with inputs, several tasks, errors, before/after callbacks;
``akickoff_for_each`` basic and concurrent; sequential and async tasks. Left out:
``test_aprocess_async_tasks_empty`` (the private ``Crew._aprocess_async_tasks``).

Deliberately different (tested as fastcrew behaves, the test says why): templates are never
changed by a run (CrewAI interpolates agents and tasks in place and sets ``task.output``,
``task.retry_count``, ``crew.usage_metrics``; fastcrew gives the rendered texts and counts on
the run's outputs); async-task ordering rules are relaxed (CrewAI refuses an async task
whose context is the async task before it, and more than one trailing async task);
``allow_code_execution`` adds fastcrew's interpreter (CrewAI 1.15 adds nothing any more).

Memory and knowledge — the twelve memory tests (``test_using_memory`` …
``test_memory_remember_receives_task_content``, ``test_crew_copy_with_memory``,
``test_reset_memory_uses_full_unified_memory_reset``, the two ``test_kickoff_drains_*``),
``test_crew_with_knowledge_sources_works_with_copy`` and the eight ``test_reset_*knowledge*``
tests — are covered in ``test_crew_memory.py`` (its docstring lists them).

Left out (31): training (``test_crew_train_success``, ``test_crew_train_error``,
``test__setup_for_training``, ``test_crew_trained_agents_file_is_preserved_on_copy``); replay
(``test_replay_feature``, ``test_crew_replay_error``, ``test_crew_task_db_init``,
``test_replay_task_with_context``, ``test_replay_preserves_messages``,
``test_replay_with_context``, ``test_replay_with_context_set_to_nullable``,
``test_replay_with_invalid_task_id``, ``test_replay_interpolates_inputs_properly``,
``test_replay_setup_context``); ``crew.test`` (``test_crew_testing_function``); multimodal
(``test_multimodal_flag_adds_multimodal_tools``, ``test_multimodal_agent_image_tool_handling``,
``test_multimodal_agent_describing_image_successfully``,
``test_multimodal_agent_live_image_analysis``); CrewAI internals (``test_key``,
``test_key_with_interpolated_inputs``: CrewAI's cache/training key;
``test_agents_rpm_is_never_set_if_crew_max_rpm_is_not_set``: its private RPM controller;
``test_prepare_kickoff_binds_task_only_agent_to_crew``: ``agent.crew`` wiring, whose behaviour
— a crew given only tasks runs — is tested; the three ``test_sets_flow_context_*``: its flow
bookkeeping); events (``test_crew_kickoff_started_emits_display_name``); ignored arguments
(``test_set_agents_step_callback``, ``test_dont_set_agents_step_callback_if_already_set``:
``step_callback`` is accepted and ignored; ``test_crew_log_file_output``: ``output_log_file``
likewise); ``test_api_calls_throttling`` (skipped in CrewAI itself; caps are tested in
tests/runtime/test_rate_caps.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from runtime.conftest import sim_llm

from fastcrew import Agent, ConditionalTask, Crew, CrewOutput, InputError, Process, Task
from fastcrew.sim import SpawnedSim, serve, spawn


@pytest.fixture(scope="module")
def spawned() -> Iterator[SpawnedSim]:
    """A simulator in a child process, for the sync kickoffs (they run on the home loop)."""
    with spawn() as server:
        yield server


def researcher_and_writer(llm: Any) -> tuple[Agent, Agent]:
    return (
        Agent(role="Researcher", goal="Research AI", backstory="An expert.", llm=llm),
        Agent(role="Senior Writer", goal="Write about AI", backstory="A writer.", llm=llm),
    )


def one_task_crew(llm: Any, **crew_kwargs: Any) -> Crew:
    agent = Agent(role="{topic} Researcher", goal="Research {topic}", backstory="Ex.", llm=llm)
    task = Task(description="Summarize {topic}.", expected_output="One sentence", agent=agent)
    return Crew(agents=[agent], tasks=[task], **crew_kwargs)


NO_LLM = "http://127.0.0.1:9/v1"


# -- validation ---------------------------------------------------------------------------


def test_crew_with_only_conditional_tasks_raises_error() -> None:
    researcher, _ = researcher_and_writer(sim_llm(NO_LLM))
    tasks = [
        ConditionalTask(
            description=f"Conditional task {i}",
            expected_output="x",
            agent=researcher,
            condition=lambda _out: True,
        )
        for i in range(3)
    ]
    with pytest.raises(ValueError, match="not a ConditionalTask"):
        Crew(agents=[researcher], tasks=tasks)


def test_crew_needs_tasks_and_refuses_config() -> None:
    # test_crew_config_conditional_requirement / test_crew_config_with_wrong_keys: a crew
    # without tasks is refused; Crew(config=...) (a JSON crew) is not supported and says so.
    with pytest.raises(ValueError, match="at least one task"):
        Crew(process=Process.sequential)
    with pytest.raises(ValueError, match="config"):
        Crew(process=Process.sequential, config='{"wrong_key": "wrong_value"}')


def test_async_context_rules_are_relaxed() -> None:
    # differs: CrewAI refuses an async task whose context is the async task before it;
    # fastcrew runs it (the later one waits for the earlier).
    researcher, writer = researcher_and_writer(sim_llm(NO_LLM))
    t1 = Task(description="1", expected_output="x", agent=researcher, async_execution=True)
    t2 = Task(
        description="2", expected_output="x", agent=researcher, async_execution=True, context=[t1]
    )
    t3 = Task(
        description="3", expected_output="x", agent=researcher, async_execution=True, context=[t2]
    )
    t4 = Task(description="4", expected_output="x", agent=writer)
    t5 = Task(
        description="5", expected_output="x", agent=researcher, async_execution=True, context=[t4]
    )
    Crew(tasks=[t1, t2, t3, t4, t5], agents=[researcher, writer])
    Crew(tasks=[t1, t4, t5], agents=[researcher, writer])


def test_context_no_future_tasks() -> None:
    researcher, writer = researcher_and_writer(sim_llm(NO_LLM))
    t4 = Task(description="4", expected_output="x", agent=researcher)
    t1 = Task(description="1", expected_output="x", agent=researcher, context=[t4])
    with pytest.raises(ValueError, match="does not run before it"):
        Crew(tasks=[t1, t4], agents=[researcher, writer])


def test_sequential_crew_creation_tasks_without_agents() -> None:
    researcher, _ = researcher_and_writer(sim_llm(NO_LLM))
    task = Task(description="Ideas", expected_output="5 bullet points")
    with pytest.raises(ValueError, match="has no agent"):
        Crew(tasks=[task], agents=[researcher], process=Process.sequential)


def test_default_crew_name() -> None:
    researcher, writer = researcher_and_writer(sim_llm(NO_LLM))
    tasks = [
        Task(description="Task 1", expected_output="output", agent=researcher),
        Task(description="Task 2", expected_output="output", agent=writer),
    ]
    assert Crew(agents=[researcher, writer], tasks=tasks).name == "crew"


def test_fetch_inputs() -> None:
    agent = Agent(
        role="{role_detail} Researcher",
        goal="Analyze {topic}.",
        backstory="Works in {field}.",
        llm=sim_llm(NO_LLM),
    )
    task = Task(
        description="Analyze the data on {topic}.",
        expected_output="Summary of {topic} analysis.",
        agent=agent,
    )
    assert Crew(agents=[agent], tasks=[task]).fetch_inputs() == {"role_detail", "topic", "field"}


# -- sequential runs ----------------------------------------------------------------------


async def test_crew_creation_and_sync_task_execution(sim) -> None:
    researcher, writer = researcher_and_writer(sim_llm(sim.base_url))
    tasks = [
        Task(description="List 5 ideas", expected_output="Bullets", agent=researcher),
        Task(description="Write a paragraph each", expected_output="Paragraphs", agent=writer),
    ]
    result = await Crew(agents=[researcher, writer], tasks=tasks).akickoff()
    assert isinstance(result, CrewOutput)
    assert len(result.tasks_output) == len(tasks)
    assert str(result) == result.raw == result.tasks_output[-1].raw
    assert sim.stats()["requests_total"] == len(tasks)  # each task ran once
    assert [t.agent for t in result.tasks_output] == ["Researcher", "Senior Writer"]


async def test_sequential_async_task_execution_completion(sim) -> None:
    researcher, writer = researcher_and_writer(sim_llm(sim.base_url))
    ideas = Task(
        description="Ideas", expected_output="5 ideas", agent=researcher, async_execution=True
    )
    history = Task(description="History", expected_output="5 events", agent=researcher)
    article = Task(
        description="Article",
        expected_output="4 paragraphs",
        agent=writer,
        context=[ideas, history],
    )
    out = await Crew(agents=[researcher, writer], tasks=[ideas, history, article]).akickoff()
    assert out.raw == out.tasks_output[2].raw
    prompt = str(out.tasks_output[2].messages)
    assert out.tasks_output[0].raw[:40] in prompt  # the async task's output reached it
    assert out.tasks_output[1].raw[:40] in prompt


async def test_single_and_three_async_tasks(sim) -> None:
    researcher, _ = researcher_and_writer(sim_llm(sim.base_url))
    one = Task(
        description="Ideas", expected_output="5 ideas", agent=researcher, async_execution=True
    )
    assert (await Crew(agents=[researcher], tasks=[one]).akickoff()).raw
    # differs: CrewAI refuses a crew ending in more than one async task; fastcrew joins them
    three = [
        Task(description=f"List {k}", expected_output="x", agent=researcher, async_execution=True)
        for k in ("bullets", "numbers", "letters")
    ]
    out = await Crew(agents=[researcher], tasks=three).akickoff()
    assert len(out.tasks_output) == 3
    assert all(t.raw for t in out.tasks_output)


async def test_async_task_execution_call_count(sim) -> None:
    researcher, writer = researcher_and_writer(sim_llm(sim.base_url))
    tasks = [
        Task(description="Ideas", expected_output="x", agent=researcher, async_execution=True),
        Task(description="History", expected_output="x", agent=researcher, async_execution=True),
        Task(description="Article", expected_output="x", agent=writer),
    ]
    await Crew(agents=[researcher, writer], tasks=tasks).akickoff()
    assert sim.stats()["requests_total"] == 3


@pytest.mark.parametrize("native", [True, False])
async def test_mixed_sync_async_task_outputs_not_dropped(sim, spawned, native: bool) -> None:
    url = sim.base_url if native else spawned.base_url
    researcher, writer = researcher_and_writer(sim_llm(url))
    tasks = [
        Task(description="s1", expected_output="x", agent=researcher),
        Task(description="a1", expected_output="x", agent=researcher, async_execution=True),
        Task(description="s2", expected_output="x", agent=writer),
    ]
    crew = Crew(agents=[researcher, writer], tasks=tasks)
    out = await crew.akickoff() if native else await crew.kickoff_async()
    assert [o.description for o in out.tasks_output] == ["s1", "a1", "s2"]
    assert all(o.raw for o in out.tasks_output)


async def test_pending_async_outputs_preserved_through_conditional_task(sim) -> None:
    researcher, writer = researcher_and_writer(sim_llm(sim.base_url))
    tasks = [
        Task(description="s1", expected_output="x", agent=researcher),
        Task(description="a1", expected_output="x", agent=researcher, async_execution=True),
        ConditionalTask(
            description="c", expected_output="x", agent=writer, condition=lambda _out: False
        ),
    ]
    out = await Crew(agents=[researcher, writer], tasks=tasks).akickoff()
    assert [o.description for o in out.tasks_output] == ["s1", "a1", "c"]
    assert [bool(o.raw) for o in out.tasks_output] == [True, True, False]


# -- kickoff variants ---------------------------------------------------------------------


def test_kickoff_for_each_single_multiple_and_empty(spawned) -> None:
    crew = one_task_crew(sim_llm(spawned.base_url))
    assert len(crew.kickoff_for_each(inputs=[{"topic": "dog"}])) == 1
    inputs = [{"topic": "dog"}, {"topic": "cat"}, {"topic": "apple"}]
    results = crew.kickoff_for_each(inputs=inputs)
    assert len(results) == 3
    assert [r.tasks_output[0].description for r in results] == [
        "Summarize dog.",
        "Summarize cat.",
        "Summarize apple.",
    ]
    assert crew.kickoff_for_each(inputs=[]) == []


def test_kickoff_for_each_invalid_input(spawned) -> None:
    crew = one_task_crew(sim_llm(spawned.base_url))
    with pytest.raises(TypeError, match="inputs must be a dict or Mapping"):
        crew.kickoff_for_each(["invalid input"])  # type: ignore[list-item]


def test_kickoff_for_each_error_handling(spawned) -> None:
    crew = one_task_crew(sim_llm(spawned.base_url))
    with pytest.raises(InputError, match="topic"):  # the third input lacks {topic}
        crew.kickoff_for_each(inputs=[{"topic": "dog"}, {"topic": "cat"}, {"other": 1}])


async def test_kickoff_async_basic_functionality_and_output(sim) -> None:
    out = await one_task_crew(sim_llm(sim.base_url)).kickoff_async({"topic": "dog"})
    assert isinstance(out, CrewOutput)
    assert out.tasks_output[0].description == "Summarize dog."


async def test_kickoff_for_each_async_basic_and_empty(sim) -> None:
    crew = one_task_crew(sim_llm(sim.base_url))
    inputs = [{"topic": "dog"}, {"topic": "cat"}, {"topic": "apple"}]
    results = await crew.kickoff_for_each_async(inputs)
    assert [r.tasks_output[0].description for r in results] == [
        "Summarize dog.",
        "Summarize cat.",
        "Summarize apple.",
    ]
    for result in results:  # test_crew_async_kickoff
        assert result.token_usage.total_tokens > 0
        assert result.token_usage.successful_requests == 1
    assert await crew.kickoff_for_each_async([]) == []


async def test_crew_kickoff_usage_metrics(sim) -> None:
    results = await one_task_crew(sim_llm(sim.base_url)).akickoff_for_each(
        [{"topic": "dog"}, {"topic": "cat"}, {"topic": "apple"}]
    )
    for result in results:
        usage = result.token_usage
        assert usage.total_tokens > 0
        assert usage.prompt_tokens > 0
        assert usage.completion_tokens > 0
        assert usage.successful_requests > 0
        assert usage.cached_prompt_tokens == 0


async def test_crew_kickoff_streaming_usage_metrics(sim) -> None:
    crew = one_task_crew(sim_llm(sim.base_url), stream=True)
    stream = await crew.akickoff_for_each([{"topic": "dog"}, {"topic": "cat"}])
    async for _chunk in stream:
        pass
    for result in stream.result:
        assert result.token_usage.total_tokens > 0
        assert result.token_usage.successful_requests > 0
        assert result.token_usage.cached_prompt_tokens == 0


# -- test_async_crew.py ---------------------------------------------------------------------


async def test_akickoff_basic_inputs_and_several_tasks(sim) -> None:
    llm = sim_llm(sim.base_url)
    result = await one_task_crew(llm).akickoff({"topic": "AI"})
    assert isinstance(result, CrewOutput)
    assert result.raw == result.tasks_output[0].raw
    researcher, writer = researcher_and_writer(llm)
    tasks = [
        Task(description="First", expected_output="x", agent=researcher),
        Task(description="Second", expected_output="x", agent=writer),
    ]
    result = await Crew(agents=[researcher, writer], tasks=tasks).akickoff()
    assert result.raw == result.tasks_output[1].raw
    assert len(result.tasks_output) == 2
    assert sim.stats()["requests_total"] == 3


async def test_akickoff_handles_exception() -> None:
    async with serve(fail_rate=1.0) as sim:
        crew = one_task_crew(sim_llm(sim.base_url))
        with pytest.raises(Exception, match="Summarize AI"):  # the error names the task
            await crew.akickoff({"topic": "AI"})


async def test_akickoff_calls_before_and_after_callbacks(sim) -> None:
    seen: list[str] = []

    def before(inputs: dict[str, Any]) -> dict[str, Any]:
        seen.append("before")
        return inputs

    async def after(result: CrewOutput) -> CrewOutput:
        seen.append("after")
        return result

    crew = one_task_crew(
        sim_llm(sim.base_url), before_kickoff_callbacks=[before], after_kickoff_callbacks=[after]
    )
    await crew.akickoff({"topic": "AI"})
    assert seen == ["before", "after"]


async def test_akickoff_for_each_runs_concurrently(slow_sim) -> None:
    crew = one_task_crew(sim_llm(slow_sim.base_url))
    results = await crew.akickoff_for_each([{"topic": f"topic_{i}"} for i in range(3)])
    assert len(results) == 3
    assert all(isinstance(r, CrewOutput) for r in results)
    assert slow_sim.stats()["peak_in_flight"] == 3


@pytest.fixture
async def slow_sim():
    async with serve(latency_ms=200) as server:
        yield server
