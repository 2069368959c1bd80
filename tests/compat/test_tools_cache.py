"""CrewAI compatibility: tool-result caching is opt-in, as CrewAI's own
``tests/test_tool_cache_default.py`` pins it down (CrewAI 1.15.30; written for fastcrew, not
copied), plus the cache tests of ``tests/test_crew.py`` (``test_cache_hitting_between_agents``,
``test_tools_with_custom_caching``) and ``tests/agents/test_agent.py``
(``test_disabling_cache_for_agent``).

The rule, as in CrewAI: a live-data tool called twice with the same arguments runs twice
unless the crew says ``cache=True`` (then every agent not set to ``cache=False`` caches, the
hierarchical manager included) or the agent itself was given ``cache=True`` (then it caches
alone too, in ``Agent.kickoff``).

Covered from ``test_tool_cache_default.py``: 14 of 16 (the other 2 are deliberately
different, below) — the default re-executes, the crew's
and the agent's opt-in, ``cache=False`` winning (over a caching crew, and with a
``cache_handler``), an agent taking the crew's cache by default, copies keeping the opt-in
and only it (also after a caching crew ran the agent), and the hierarchical manager's
wiring (``set_cache_handler`` and ``_create_manager_agent`` are CrewAI internals: fastcrew's
rule, ``fastcrew.runtime.acting.caches``, is checked instead).

Deliberately different (tested as fastcrew behaves, the tests say why):

- ``cache_handler=`` alone does not opt an agent in
  (``test_standalone_agent_explicit_cache_handler_opts_in``,
  ``test_copy_of_handler_opted_in_agent_stays_opted_in``): ``CacheHandler`` is a CrewAI
  object; fastcrew accepts the argument and ignores it — opt in with ``cache=True``.
- The cache belongs to one run (one ``kickoff``), shared by all the run's agents and tasks;
  CrewAI's lives on the crew and outlives kickoffs (docs/compatibility.md, Tools).

From ``test_crew.py``, the exact ``CacheHandler.read`` / ``add`` call arguments are CrewAI's
internal key format; the behaviours they check (one execution per run across agents,
``cache_function`` gating what is stored) are tested here.
"""

from __future__ import annotations

from typing import Any

from runtime.conftest import sim_llm

from fastcrew import Agent, Crew, Process, Task
from fastcrew.runtime.acting import caches
from fastcrew.sim import serve
from fastcrew.tools import BaseTool


def live_tool() -> tuple[BaseTool, list[int]]:
    """A tool returning a different reading on every real execution (no arguments, so every
    call is the same call)."""
    executions: list[int] = []

    class LiveLookupTool(BaseTool):
        name: str = "live_lookup"
        description: str = "Returns a live reading."

        def _run(self) -> str:
            executions.append(len(executions) + 1)
            return f"reading #{len(executions)}"

    return LiveLookupTool(), executions


def reader(llm: Any, tool: BaseTool, **kwargs: Any) -> Agent:
    return Agent(
        role="reader", goal="Look things up.", backstory="Test.", llm=llm, tools=[tool], **kwargs
    )


async def run_crew(agent_kwargs: dict[str, Any], **crew_kwargs: Any) -> list[int]:
    tool, executions = live_tool()
    async with serve(tool_rounds=2, parallel_calls=1) as sim:
        agent = reader(sim_llm(sim.base_url), tool, **agent_kwargs)
        task = Task(description="Look up twice.", expected_output="A report.", agent=agent)
        await Crew(agents=[agent], tasks=[task], **crew_kwargs).akickoff()
    return executions


async def test_default_reexecutes_identical_tool_calls() -> None:
    assert len(await run_crew({})) == 2


async def test_crew_cache_true_dedupes_identical_tool_calls() -> None:
    assert len(await run_crew({}, cache=True)) == 1


async def test_agent_cache_true_opts_in_without_the_crew() -> None:
    assert len(await run_crew({"cache": True})) == 1


async def test_agent_cache_false_stays_out_of_a_caching_crew() -> None:
    assert len(await run_crew({"cache": False}, cache=True)) == 2


async def test_standalone_agent_has_no_cache_by_default_and_opts_in_explicitly() -> None:
    for kwargs, expected in (({}, 2), ({"cache": True}, 1)):
        tool, executions = live_tool()
        async with serve(tool_rounds=2, parallel_calls=1) as sim:
            await reader(sim_llm(sim.base_url), tool, **kwargs).akickoff("Look up twice.")
        assert len(executions) == expected, kwargs


def test_the_field_keeps_crewais_default() -> None:
    agent = Agent(role="r", goal="g", backstory="b", llm=sim_llm("http://127.0.0.1:9/v1"))
    assert agent.cache is True  # "takes part when caching is on", not "caches"
    assert caches(agent, None) is False
    assert Crew.model_fields["cache"].default is False


def test_copies_keep_the_opt_in_and_only_it() -> None:
    llm = sim_llm("http://127.0.0.1:9/v1")
    default = Agent(role="r", goal="g", backstory="b", llm=llm)
    opted_in = Agent(role="r", goal="g", backstory="b", llm=llm, cache=True)
    opted_out = Agent(role="r", goal="g", backstory="b", llm=llm, cache=False, cache_handler={})
    assert caches(default.model_copy(), None) is False
    assert caches(opted_in.model_copy(), None) is True
    assert caches(opted_out, None) is False
    assert caches(opted_out.model_copy(), None) is False


def test_a_cache_handler_alone_does_not_opt_in() -> None:
    # differs: CrewAI's CacheHandler opts an agent in; fastcrew ignores cache_handler=.
    llm = sim_llm("http://127.0.0.1:9/v1")
    agent = Agent(role="r", goal="g", backstory="b", llm=llm, cache_handler={})
    assert caches(agent, None) is False
    assert caches(agent.model_copy(), None) is False


async def test_an_agent_run_by_a_caching_crew_does_not_become_a_cacher() -> None:
    # test_copy_of_crew_wired_agent_does_not_opt_in: a crew never writes into its agents.
    tool, executions = live_tool()
    async with serve(tool_rounds=2, parallel_calls=1) as sim:
        agent = reader(sim_llm(sim.base_url), tool)
        task = Task(description="Look up twice.", expected_output="A report.", agent=agent)
        await Crew(agents=[agent], tasks=[task], cache=True).akickoff()
        assert len(executions) == 1
        await agent.akickoff("Look up twice.")  # alone: no cache
    assert len(executions) == 3
    assert caches(agent.model_copy(), None) is False


def test_hierarchical_manager_follows_the_crew() -> None:
    llm = sim_llm("http://127.0.0.1:9/v1")
    worker = Agent(role="worker", goal="Do work.", backstory="Test.", llm=llm)
    task = Task(description="Do the work.", expected_output="Done.")

    def crew(**kwargs: Any) -> Crew:
        kwargs.setdefault("manager_llm", llm)
        return Crew(agents=[worker], tasks=[task], process=Process.hierarchical, **kwargs)

    made = crew(cache=True)
    assert made.manager_agent is not None
    assert caches(made.manager_agent, made) is True
    plain = crew()
    assert plain.manager_agent is not None
    assert caches(plain.manager_agent, plain) is False
    manager = Agent(
        role="manager",
        goal="Manage.",
        backstory="Test.",
        llm=llm,
        cache=False,
        allow_delegation=True,
    )
    excluded = crew(cache=True, manager_agent=manager, manager_llm=None)
    assert caches(manager, excluded) is False


async def test_cache_is_shared_between_agents_and_tasks_of_one_run() -> None:
    # test_cache_hitting_between_agents: two agents, two tasks, one tool, Crew(cache=True).
    tool, executions = live_tool()
    async with serve(tool_rounds=1, parallel_calls=1) as sim:
        llm = sim_llm(sim.base_url)
        ceo = reader(llm, tool)
        researcher = Agent(role="researcher", goal="g", backstory="b", llm=llm, tools=[tool])
        tasks = [
            Task(description="Look up.", expected_output="A number.", agent=ceo),
            Task(description="Look up too.", expected_output="A number.", agent=researcher),
        ]
        crew = Crew(agents=[ceo, researcher], tasks=tasks, cache=True)
        out = await crew.akickoff()
        assert len(executions) == 1
        assert [t.raw.count("reading #1") for t in out.tasks_output] == [1, 1]
        await crew.akickoff()  # differs: a new run has a new cache (CrewAI's outlives runs)
    assert len(executions) == 2


async def test_tools_with_custom_caching() -> None:
    # cache_function(arguments, result) gates what is stored: only even results here.
    count = 0

    class Counter(BaseTool):
        name: str = "counter"
        description: str = "Counts."

        def _run(self) -> int:
            nonlocal count
            count += 1
            return count

    tool = Counter()
    tool.cache_function = lambda _args, result: result % 2 == 0
    async with serve(tool_rounds=3, parallel_calls=1) as sim:
        agent = reader(sim_llm(sim.base_url), tool)
        task = Task(description="Count.", expected_output="A number.", agent=agent)
        out = await Crew(agents=[agent], tasks=[task], cache=True).akickoff()
    # call 1 -> 1 (odd: not stored), call 2 -> 2 (stored), call 3 -> the stored 2
    assert count == 2
    results = [m["content"] for m in out.tasks_output[0].messages if m.get("role") == "tool"]
    assert results == ["1", "2", "2"]


async def test_disabling_cache_for_agent() -> None:
    # test_disabling_cache_for_agent: cache=False runs the tool every time, even when the
    # crew caches.
    assert len(await run_crew({"cache": False}, cache=True)) == 2
