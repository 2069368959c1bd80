"""CrewAI compatibility: agents, as CrewAI 1.15's ``lib/crewai/tests/agents/test_agent.py``
pins them down (written for fastcrew, not copied). CrewAI's tests replay recorded OpenAI
answers; here the agent answers from the simulator, so the tests check what reached the
model and what came back (a tool's result, the context, the number of requests) rather than
a recorded sentence.

Covered: 28 of its 105 tests here (each test names the ones it covers; 11 more below) —
creation and defaults, the LLM from the environment, a model string or an ``LLM``,
``agent.execute_task`` (plain, with context, with the agent's or the call's tools, a custom
LLM), ``max_iter``, a task's ``context``, ``result_as_answer``, definition from a dict.
Deliberately different (the test says why): ``test_interpolate_inputs`` (each run renders the
agent's text; the template never changes) and the six ``test_agent_mcps_*`` tests (CrewAI AMP
references are refused: they need a CrewAI platform account; docs/mcp.md).

The hierarchical process and delegation have no tests in this file (CrewAI 1.15 keeps them
in its crew tests: see test_crew / test_hierarchical).

Memory and knowledge are covered in ``test_agent_memory.py`` (its docstring lists them):
``test_agent_memory_true_uses_agent_llm_model``, ``test_get_knowledge_search_query`` and the
nine ``test_agent_with_knowledge*`` / ``test_agent_with_only_crewai_knowledge`` /
``test_agent_knowledege_with_crewai_knowledge`` tests.

Left out (66):

- features fastcrew does not claim (refused by name when switched on, or accepted and
  ignored — docs/compatibility.md, Agent): prompt templates
  (``test_agent_with_only_system_template``, ``test_agent_with_only_prompt_template``,
  ``test_agent_with_missing_response_template``, ``test_system_and_prompt_template``); human
  input (``test_agent_human_input``, ``test_agent_default_executor_human_input``,
  ``test_agent_default_executor_async_human_input``);
  ``use_system_prompt`` (``test_not_using_system_prompt``, ``test_using_system_prompt``);
  ``step_callback`` (``test_agent_step_callback``); ``respect_context_window``
  (``test_handle_context_length_exceeds_limit``,
  ``test_handle_context_length_exceeds_limit_cli_no``);
  CrewAI platform trigger payloads (``test_task_allow_crewai_trigger_context``,
  ``test_task_without_allow_crewai_trigger_context``,
  ``test_task_allow_crewai_trigger_context_no_payload``,
  ``test_do_not_allow_crewai_trigger_context_for_first_task_hierarchical``,
  ``test_first_task_auto_inject_trigger``,
  ``test_ensure_first_task_allow_crewai_trigger_context_is_false_does_not_inject``); training
  (``test_agent_training_handler`` and the five ``test_agent_use_trained_data*`` tests);
  ``from_repository`` (the ten ``test_agent_from_repository*`` tests); platform apps
  (``test_agent_apps_consolidated_functionality``, ``test_agent_apps_validation``,
  ``test_app_actions_propagated_to_platform_tools``, ``test_mixed_apps_and_actions_propagated``,
  ``test_agent_without_apps_no_platform_tools``); i18n
  (``test_agent_exposes_i18n_for_backward_compatibility``, ``test_agent_accepts_custom_i18n``,
  ``test_agent_copy_does_not_emit_i18n_deprecation_warning``);
- ``max_retry_limit`` (``test_agent_max_retry_limit``): stored only; retries happen once, in
  the LLM client (docs/compatibility.md);
- ``max_rpm`` (``test_agent_respect_the_max_rpm_set``,
  ``test_agent_respect_the_max_rpm_set_over_crew_rpm``,
  ``test_agent_without_max_rpm_respects_crew_rpm``): they patch CrewAI's ``RPMController`` and
  read its printed message; fastcrew's caps are tested in tests/runtime/test_rate_caps.py;
- tool-result caching (``test_disabling_cache_for_agent``): in test_tools_cache;
- the LLM class itself (the LLM suite's): ``test_agent_with_callbacks``,
  ``test_agent_with_additional_kwargs``, ``test_agent_with_all_llm_attributes``,
  ``test_llm_call``, ``test_llm_call_with_error``, ``test_llm_call_with_all_attributes``,
  ``test_litellm_auth_error_handling``, ``test_crew_agent_executor_litellm_auth_error``,
  ``test_litellm_anthropic_error_handling``, and the three Ollama tests
  (``test_agent_with_ollama_llama3``, ``test_llm_call_with_ollama_llama3``,
  ``test_agent_execute_task_with_ollama``; skipped in CrewAI: they need a local Ollama);
- CrewAI-private internals: the seven ``TestSharedLLMStopWords`` tests (its executor's
  stop-word override). The event half of ``test_agent_execution_with_tools`` (fastcrew emits
  no events; its answer is covered).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel
from runtime.conftest import sim_llm

from fastcrew import LLM, Agent, ConfigurationError, Crew, RunningLoopError, Task
from fastcrew.sim import SpawnedSim, serve, spawn
from fastcrew.tools import BaseTool, tool


@pytest.fixture(scope="module")
def spawned() -> Iterator[SpawnedSim]:
    """A simulator in a child process: sync calls run on the runtime's home loop."""
    with spawn() as server:
        yield server


def agent_on(base_url: str, **kwargs: Any) -> Agent:
    kwargs.setdefault("role", "test role")
    kwargs.setdefault("goal", "test goal")
    kwargs.setdefault("backstory", "test backstory")
    return Agent(llm=sim_llm(base_url), allow_delegation=False, **kwargs)


@tool
def multiplier(first_number: int, second_number: int) -> float:
    """Useful for when you need to multiply two numbers together."""
    return first_number * second_number


@tool
def get_final_answer() -> float:
    """Get the final answer but don't give it yet, just re-use this tool non-stop."""
    return 42


_MODEL_ENV = ("MODEL", "MODEL_NAME", "OPENAI_MODEL_NAME", "OPENAI_BASE_URL", "OPENAI_API_BASE")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in _MODEL_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    return monkeypatch


# -- creation -----------------------------------------------------------------------------------


def test_agent_llm_creation_with_env_vars(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("OPENAI_API_KEY", "test_api_key")
    clean_env.setenv("OPENAI_API_BASE", "https://test-api-base.com")
    clean_env.setenv("OPENAI_MODEL_NAME", "gpt-4-turbo")
    agent = Agent(role="test role", goal="test goal", backstory="test backstory")
    assert agent.llm.model == "gpt-4-turbo"
    assert agent.llm.api_key == "test_api_key"
    assert agent.llm.base_url == "https://test-api-base.com"

    for name in ("OPENAI_API_BASE", "OPENAI_MODEL_NAME"):
        clean_env.delenv(name)
    clean_env.setenv("OPENAI_API_KEY", "sk-other")
    agent = Agent(role="test role", goal="test goal", backstory="test backstory")
    assert agent.llm.model != "gpt-4-turbo"
    assert agent.llm.api_key != "test_api_key"
    assert agent.llm.base_url != "https://test-api-base.com"


def test_agent_creation(clean_env: pytest.MonkeyPatch) -> None:
    agent = Agent(role="test role", goal="test goal", backstory="test backstory")
    assert (agent.role, agent.goal, agent.backstory) == ("test role", "test goal", "test backstory")


def test_agent_default_values(clean_env: pytest.MonkeyPatch) -> None:
    agent = Agent(role="test role", goal="test goal", backstory="test backstory")
    assert agent.llm.model == "gpt-4.1-mini"  # CrewAI's DEFAULT_LLM_MODEL
    assert agent.allow_delegation is False


def test_custom_llm(clean_env: pytest.MonkeyPatch) -> None:
    agent = Agent(role="test role", goal="test goal", backstory="test backstory", llm="gpt-4")
    assert agent.llm.model == "gpt-4"


def test_agent_with_llm_and_custom_stop_words(clean_env: pytest.MonkeyPatch) -> None:
    """``test_agent_with_llm`` and ``test_agent_with_custom_stop_words``: the LLM object is
    used as given."""
    llm = LLM(model="gpt-3.5-turbo", temperature=0.7, stop=["STOP", "END"])
    agent = Agent(role="test role", goal="test goal", backstory="b", llm=llm)
    assert agent.llm is llm
    assert (agent.llm.model, agent.llm.temperature) == ("gpt-3.5-turbo", 0.7)
    assert set(agent.llm.stop) == {"STOP", "END"}


def test_agent_definition_based_on_dict(clean_env: pytest.MonkeyPatch) -> None:
    config = {
        "role": "test role",
        "goal": "test goal",
        "backstory": "test backstory",
        "verbose": True,
    }
    agent = Agent(**config)
    assert (agent.role, agent.goal, agent.backstory) == ("test role", "test goal", "test backstory")
    assert agent.verbose is True
    assert agent.tools == []


def test_agent_mcps_amp_references_are_refused(clean_env: pytest.MonkeyPatch) -> None:
    """The ``test_agent_mcps_*`` tests accept CrewAI AMP references (``"notion#search"``,
    ``"crewai-amp:..."``): fastcrew refuses them, naming what to give instead, because they
    need a CrewAI platform account (docs/mcp.md). A ``ConfigurationError`` is a ``ValueError``."""
    for ref in ("notion#search", "crewai-amp:notion#search"):
        with pytest.raises(ValueError, match="AMP references") as info:
            Agent(role="r", goal="g", backstory="b", mcps=[ref])
        assert isinstance(info.value, ConfigurationError)


# -- execute_task -------------------------------------------------------------------------------


def test_agent_execution(spawned: SpawnedSim) -> None:
    agent = agent_on(spawned.base_url)
    task = Task(description="How much is 1 + 1?", agent=agent, expected_output="the result")
    output = agent.execute_task(task)
    assert isinstance(output, str)
    assert output.startswith("Simulated answer")
    assert "How much is 1 + 1?" in output  # the simulator echoes the task it was given


def test_agent_execution_with_tools(spawned: SpawnedSim) -> None:
    """The tool is called and its result reaches the model (the simulator quotes it)."""
    agent = agent_on(spawned.base_url, tools=[multiplier])
    task = Task(description="What is 3 times 4?", agent=agent, expected_output="The result.")
    output = agent.execute_task(task)
    assert "tool results: multiplier:" in output


def test_agent_execution_with_specific_tools(spawned: SpawnedSim) -> None:
    """``tools=`` given to ``execute_task`` are used for that call. Also CrewAI's
    ``test_agent_powered_by_new_o_model_family_that_allows_skipping_tool`` and
    ``test_agent_powered_by_new_o_model_family_that_uses_tool``: tool use through the call."""
    agent = agent_on(spawned.base_url)
    task = Task(description="What is 3 times 4", agent=agent, expected_output="The result.")
    assert "tool results: multiplier:" in agent.execute_task(task=task, tools=[multiplier])
    assert agent.tools == []
    assert "tool results" not in agent.execute_task(task=task)


def test_agent_execute_task_with_context(spawned: SpawnedSim) -> None:
    agent = agent_on(spawned.base_url)
    task = Task(
        description="Summarize the given context in one sentence",
        expected_output="A one-sentence summary",
        agent=agent,
    )
    context = "The quick brown fox jumps over the lazy dog."
    with_context = agent.execute_task(task, context=context)
    assert with_context != agent.execute_task(task)  # the context changed the request


def test_agent_execute_task_with_tool(spawned: SpawnedSim) -> None:
    @tool
    def dummy_tool(query: str) -> str:
        """Useful for when you need to get a dummy result for a query."""
        return f"Dummy result for: {query}"

    agent = agent_on(spawned.base_url, tools=[dummy_tool])
    task = Task(description="Use the dummy tool", expected_output="Its result", agent=agent)
    assert "dummy_tool: Dummy result for:" in agent.execute_task(task)


def test_agent_execute_task_basic_and_custom_llm(spawned: SpawnedSim) -> None:
    """``test_agent_execute_task_basic`` / ``test_agent_execute_task_with_custom_llm``: a task
    without an agent runs with the one asked; the LLM's settings (here ``max_tokens``) are
    sent."""
    agent = Agent(
        role="test role",
        goal="test goal",
        backstory="b",
        llm=sim_llm(spawned.base_url, max_tokens=5),
    )
    task = Task(description="Write a haiku about AI", expected_output="A haiku")
    output = agent.execute_task(task)
    assert output.startswith("Simulated")
    assert len(output) <= 4 * 5  # cut at max_tokens, as a real model's answer would be


def test_execute_task_applies_no_guardrail_callback_or_file(spawned: SpawnedSim, tmp_path) -> None:
    """``execute_task`` is the agent's answer alone (as in CrewAI): the task's guardrails,
    callback and output file belong to ``task.execute_sync``."""
    seen: list[Any] = []
    agent = agent_on(spawned.base_url)
    task = Task(
        description="Say hi",
        expected_output="A greeting",
        guardrail=lambda _: (False, "never"),
        callback=seen.append,
        output_file=str(tmp_path / "out.txt"),
    )
    assert agent.execute_task(task)
    assert seen == []
    assert not (tmp_path / "out.txt").exists()


def test_execute_task_returns_the_model_of_a_structured_task(spawned: SpawnedSim) -> None:
    """Checked against CrewAI 1.15.30 (no test of its own): for a task with
    ``output_pydantic`` or ``output_json``, ``execute_task`` returns the validated model."""

    class Score(BaseModel):
        score: int

    agent = agent_on(spawned.base_url)
    for kind in ("output_pydantic", "output_json"):
        task = Task(description="Score the title", expected_output="A score", **{kind: Score})
        assert isinstance(agent.execute_task(task), Score)


async def test_aexecute_task_and_the_sync_call_inside_a_loop(sim) -> None:
    """``await agent.aexecute_task(...)`` runs natively; the sync ``execute_task`` inside a
    running loop is refused (a ``RuntimeError``, as CrewAI's), pointing to the awaitable."""
    agent = agent_on(sim.base_url)
    task = Task(description="How much is 1 + 1?", expected_output="the result")
    assert "How much is 1 + 1?" in await agent.aexecute_task(task)
    with pytest.raises(RunningLoopError, match="aexecute_task") as info:
        agent.execute_task(task)
    assert isinstance(info.value, RuntimeError)


# -- max_iter -----------------------------------------------------------------------------------


@pytest.mark.parametrize("max_iter", [1, 2, 5])
async def test_agent_max_iterations(max_iter: int) -> None:
    """``test_agent_custom_max_iterations`` (max_iter=1: one call in the loop, one forced
    final answer), ``test_agent_max_iterations_stops_loop`` and
    ``test_agent_moved_on_after_max_iterations``: a model that would call tools forever is
    stopped after ``max_iter`` tool steps and asked once more, without tools, for its answer."""
    async with serve(tool_rounds=50) as sim:
        agent = agent_on(sim.base_url, max_iter=max_iter)
        task = Task(
            description="The final answer is 42. But don't give it yet, keep using the tool.",
            expected_output="The final answer",
        )
        result = await agent.aexecute_task(task=task, tools=[get_final_answer])
        assert isinstance(result, str)
        assert result
        assert sim.stats()["requests_total"] == max_iter + 1


# -- in a crew ------------------------------------------------------------------------------------


async def test_agent_use_specific_tasks_output_as_context(sim) -> None:
    agent1 = agent_on(sim.base_url, role="test role")
    agent2 = agent_on(sim.base_url, role="test role2")
    say_hi = Task(description="Just say hi.", agent=agent1, expected_output="Your greeting.")
    say_bye = Task(description="Just say bye.", agent=agent1, expected_output="Your farewell.")
    answer = Task(
        description="Answer accordingly to the context you got.",
        expected_output="Your answer.",
        context=[say_hi],
        agent=agent2,
    )
    result = await Crew(agents=[agent1, agent2], tasks=[say_hi, say_bye, answer]).akickoff()
    hi, bye, last = result.tasks_output
    prompt = last.messages[1]["content"]
    assert hi.raw in prompt
    assert bye.raw not in prompt


async def test_tool_result_as_answer_is_the_final_answer_for_the_agent(sim) -> None:
    """Skipped in CrewAI 1.15 (not yet in its native tool-calling path); fastcrew runs it."""

    class MyCustomTool(BaseTool):
        name: str = "Get Greetings"
        description: str = "Get a random greeting back"

        def _run(self) -> str:
            return "Howdy!"

    agent = agent_on(
        sim.base_url, role="Data Scientist", tools=[MyCustomTool(result_as_answer=True)]
    )
    essay = Task(
        description="Write a small paragraph on AI, but first use the `Get Greetings` tool.",
        expected_output="The final paragraph.",
        agent=agent,
    )
    result = await Crew(agents=[agent], tasks=[essay]).akickoff()
    assert result.raw == "Howdy!"


async def test_interpolate_inputs_per_run(sim) -> None:
    """CrewAI's ``agent.interpolate_inputs`` rewrites the agent; fastcrew renders the role,
    goal and backstory per run and never changes the agent (one agent serves concurrent runs
    with different inputs)."""
    agent = Agent(
        role="{topic} specialist",
        goal="Figure {goal} out",
        backstory="I am the master of {role}",
        llm=sim_llm(sim.base_url),
    )
    task = Task(description="Say something", expected_output="x", agent=agent)
    crew = Crew(agents=[agent], tasks=[task])
    for topic, goal, role in (("AI", "life", "all things"), ("Sales", "stuff", "nothing")):
        out = (await crew.akickoff({"topic": topic, "goal": goal, "role": role})).tasks_output[0]
        assert out.agent == f"{topic} specialist"
        system = out.messages[0]["content"]
        assert f"Figure {goal} out" in system
        assert f"I am the master of {role}" in system
    assert (agent.role, agent.goal, agent.backstory) == (
        "{topic} specialist",
        "Figure {goal} out",
        "I am the master of {role}",
    )
