"""``Crew``: agents and tasks, and every way to run them (CrewAI's kickoff variants)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping
from typing import Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from .._loop import ensure_no_running_loop
from ..errors import ConfigurationError
from ..knowledge.fields import EmbedderSpec, KnowledgeSources
from ..process_runtime import get_runtime
from . import compat
from .agent import Agent, resolve_llm
from .calls import maybe_await
from .conditional import check_conditional_tasks
from .for_each import DEFAULT_MAX_CONCURRENCY, bounded_iter, bounded_map
from .hierarchical import check_manager, make_manager
from .outputs import CrewOutput, TaskOutput, fast_model
from .process import Process
from .rendering import check_inputs, names, render
from .reset import areset_crew_memories
from .run_state import Run
from .sequential import run_sequential
from .streaming import CrewStreamingOutput, Emit
from .task import Task
from .trace import Trace

__all__ = ["Crew"]


def _checked(inputs: Any) -> dict[str, Any]:
    """Kickoff inputs checked: a ``TypeError`` for a non-mapping (as in CrewAI), then
    :func:`check_inputs`."""
    if inputs is not None and not isinstance(inputs, Mapping):
        raise TypeError(f"inputs must be a dict or Mapping, got {type(inputs).__name__}")
    return check_inputs(inputs)


Inputs = Mapping[str, Any] | None
ManyInputs = Iterable[Mapping[str, Any]] | AsyncIterable[Mapping[str, Any]]


class Crew(compat.OwnErrors, BaseModel):
    """A crew, as in CrewAI: ``Crew(agents=[...], tasks=[...], process=Process.sequential)``.

    A template: a run renders its own prompts and counts its own tokens, so one crew may run
    any number of concurrent kickoffs. ``stream=True`` makes the kickoffs return a
    :class:`CrewStreamingOutput`. ``max_rpm`` is an extra, narrower cap on the calls of all
    this crew's runs together (the shared budget lives in the LLM client). ``task_callback``
    runs after every task, ``before_kickoff_callbacks`` may rewrite the inputs,
    ``after_kickoff_callbacks`` the output. ``cache=True`` caches the agents' tool results
    within each run.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    agents: list[Agent] = Field(default_factory=list)
    tasks: list[Task] = Field(default_factory=list)
    process: Process = Process.sequential
    verbose: bool = False
    stream: bool = False
    max_rpm: int | None = Field(default=None, ge=1)
    name: str | None = "crew"
    task_callback: Callable[[TaskOutput], Any] | None = None
    before_kickoff_callbacks: list[Callable[[dict[str, Any]], Any]] = Field(default_factory=list)
    after_kickoff_callbacks: list[Callable[[CrewOutput], Any]] = Field(default_factory=list)
    manager_llm: Any = None
    manager_agent: Agent | None = None
    cache: bool = False
    """Tool-result caching for this crew's agents, per run (opt-in, as in CrewAI 1.15): an
    agent with ``cache=False`` stays out; one given ``cache=True`` caches without it."""
    knowledge_sources: KnowledgeSources = None
    """Knowledge sources every agent's tasks search (the collection ``crew``, as CrewAI's);
    indexed once, at the first kickoff (or :meth:`aprepare_knowledge`)."""
    embedder: EmbedderSpec = None
    """CrewAI's ``embedder=`` dict: the crew's knowledge and every agent without its own."""
    memory: Any = False
    """CrewAI's crew memory: ``True`` (a ``Memory`` rooted at ``/crew/<name>``) or a
    ``fastcrew.memory`` Memory / scope / slice: recalled before each task, each task's
    result saved after it (docs/memory.md)."""
    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    knowledge: Any = None
    """The crew's :class:`~fastcrew.knowledge.Knowledge`: as CrewAI, one of its
    ``knowledge_sources`` in the collection ``crew`` when it has them (made with the crew,
    without I/O), else the one given."""
    _manager: Agent | None = PrivateAttr(default=None)
    _memory: Any = PrivateAttr(default=None)

    __hash__ = object.__hash__

    @model_validator(mode="before")
    @classmethod
    def _screen(cls, data: Any) -> Any:
        return compat.screen("Crew", data, compat.CREW, set(cls.model_fields))

    @field_validator("manager_llm", mode="before")
    @classmethod
    def _manager_llm(cls, value: Any) -> Any:
        return value if value is None else resolve_llm(value)

    @model_validator(mode="after")
    def _check(self) -> Crew:
        hierarchical = self.process is Process.hierarchical
        if hierarchical:
            check_manager(self.manager_llm, self.manager_agent, self.agents)
            self._manager = make_manager(self.manager_llm, self.manager_agent, self.verbose)
            self.manager_agent = self._manager  # as CrewAI: the one made from manager_llm
        if not self.tasks:
            raise ConfigurationError("a crew needs at least one task")
        check_conditional_tasks(self.tasks)
        position = {id(t): i for i, t in enumerate(self.tasks)}
        for i, task in enumerate(self.tasks):
            label = task.name or task.description[:60]
            if task.agent is None and not hierarchical:
                raise ConfigurationError(
                    f"task {i} ({label!r}) has no agent; the sequential process needs "
                    "Task(agent=...)"
                )
            for dep in task.context or ():
                j = position.get(id(dep))
                if j is None:
                    raise ConfigurationError(
                        f"the context of task {i} ({label!r}) lists a task that is not in this crew"
                    )
                if j >= i:
                    raise ConfigurationError(
                        f"the context of task {i} ({label!r}) lists task {j}, which does not "
                        "run before it"
                    )
        if self.knowledge_sources:
            from ..knowledge.knowledge import Knowledge

            sources = list(self.knowledge_sources)
            self.knowledge = Knowledge(
                collection_name="crew", sources=sources, embedder=self.embedder
            )
        return self

    @field_validator("knowledge", mode="before")
    @classmethod
    def _knowledge(cls, value: Any) -> Any:
        from ..knowledge.fields import check_knowledge

        return check_knowledge(value, "Crew")

    def __eq__(self, other: object) -> bool:
        return self is other

    def __repr__(self) -> str:
        return f"Crew(name={self.name!r}, agents={len(self.agents)}, tasks={len(self.tasks)})"

    def copy(self) -> Crew:  # type: ignore[override]
        """A shallow copy (CrewAI habit; fastcrew runs never need one); it shares the
        crew's memory and knowledge, as CrewAI's."""
        _ = self.memory_instance  # made now (no I/O), so both share it
        return self.model_copy()

    def fetch_inputs(self) -> set[str]:
        """The ``{placeholder}`` names the kickoff inputs must fill, as CrewAI finds them:
        in the tasks' descriptions and expected outputs and the agents' role, goal and
        backstory."""
        found: set[str] = set()
        for task in self.tasks:
            found |= names(task.description) | names(task.expected_output)
        for agent in self.agents:
            found |= names(agent.role) | names(agent.goal) | names(agent.backstory)
        return found

    @field_validator("memory", mode="before")
    @classmethod
    def _memory_value(cls, value: Any) -> Any:
        from ..memory.crews import check_memory

        return check_memory(value, "Crew")

    @property
    def memory_instance(self) -> Any:
        """The crew's memory (None without): ``memory=True`` builds a ``Memory`` on first
        use, with the first agent's LLM and the crew's embedder (CrewAI's); no I/O."""
        if not self.memory:
            return None
        if self._memory is None:
            from ..memory.crews import crew_memory

            llm = next((a.llm for a in self.agents if a.llm is not None), None)
            self._memory = crew_memory(self.name, self.memory, llm, self.embedder)
        return self._memory

    async def _adrain_memories(self) -> None:
        """Wait for the background saves of the crew's and its agents' memories (a task
        callback's, a tool's), as CrewAI does before a kickoff returns."""
        agents = [a.memory_for(self.embedder) for a in self.agents if a.memory]
        if agents or self.memory:
            from ..memory.crews import adrain_all

            await adrain_all([self.memory_instance, *agents])

    # -- knowledge --------------------------------------------------------------------------

    async def aprepare_knowledge(self) -> None:
        """Index the crew's and its agents' knowledge (each ``Knowledge`` once: concurrent
        kickoffs await the same indexing; chunks already stored are not embedded again).
        Every kickoff awaits it first; a batch worker calls it before taking rows."""
        pending = self.knowledges()
        if pending:
            await asyncio.gather(*(k.aensure_indexed() for k in pending))

    def knowledges(self, *, crew_own: bool = True) -> list[Any]:
        """The crew's ``Knowledge`` (unless not ``crew_own``) then each agent's, each once."""
        found = [self.knowledge] if crew_own else []
        found += [agent.knowledge_for(self.embedder) for agent in self.agents]
        unique: dict[int, Any] = {}
        for knowledge in found:
            if knowledge is not None:
                unique.setdefault(id(knowledge), knowledge)
        return list(unique.values())

    async def aquery_knowledge(
        self, query: list[str], results_limit: int = 3, score_threshold: float = 0.35
    ) -> list[dict[str, Any]] | None:
        """The crew's knowledge chunks most relevant to ``query`` (CrewAI's search results:
        ``{"id", "content", "metadata", "score"}``, best first), or None without knowledge."""
        knowledge = self.knowledge
        if knowledge is None:
            return None
        found: list[dict[str, Any]] = await knowledge.aquery(
            query, results_limit=results_limit, score_threshold=score_threshold
        )
        return found

    def query_knowledge(
        self, query: list[str], results_limit: int = 3, score_threshold: float = 0.35
    ) -> list[dict[str, Any]] | None:
        """Synchronous :meth:`aquery_knowledge` (on the runtime's home loop)."""
        return get_runtime().run(
            self.aquery_knowledge(query, results_limit, score_threshold),
            api="Crew.query_knowledge",
            async_api="Crew.aquery_knowledge",
        )

    def reset_memories(self, command_type: str) -> None:
        """CrewAI's reset of this crew's ``"memory"`` (its memory's scope),
        ``"knowledge"`` (the crew's and agents'), ``"agent_knowledge"``,
        ``"kickoff_outputs"`` (none kept) or ``"all"`` (docs/memory.md). Blocking; awaitable:
        ``fastcrew.runtime.reset.areset_crew_memories(crew, command_type)``."""
        get_runtime().run(
            areset_crew_memories(self, command_type),
            api="Crew.reset_memories",
            async_api="fastcrew.runtime.reset.areset_crew_memories",
        )

    # -- the one real run ----------------------------------------------------------------

    def _preflight(self, inputs: dict[str, Any]) -> None:
        """Fail before any LLM call if a placeholder has no input (names it and the task)."""
        given = inputs.keys()
        for i, task in enumerate(self.tasks):
            agent = self._manager or task.agent
            assert agent is not None
            needed = (
                names(task.description)
                | names(task.expected_output)
                | names(agent.role)
                | names(agent.goal)
                | names(agent.backstory)
            )
            if task.output_file:
                needed |= names(task.output_file)
            if needed <= given:
                continue
            label = task.name or f"task {i}"
            for field in ("description", "expected_output", "output_file"):
                text = getattr(task, field)
                if text:
                    render(text, inputs, f"the {field} of {label!r}")
            for field in ("role", "goal", "backstory"):
                render(getattr(agent, field), inputs, f"the {field} of agent {agent.role!r}")

    async def _arun(
        self, inputs: Inputs, emit: Emit | None = None, input_index: int | None = None
    ) -> CrewOutput:
        values = _checked(inputs)
        for before in self.before_kickoff_callbacks:
            changed = await maybe_await(before(values))
            if changed is not None:
                values = _checked(changed)
        self._preflight(values)
        await self.aprepare_knowledge()
        caps = (get_runtime().cap(self, self.max_rpm),) if self.max_rpm else ()
        state = Run(
            values,
            emit=emit,
            input_index=input_index,
            caps=caps,
            agents=tuple(self.agents),
            manager=self._manager,
            crew=self,
        )
        if self.verbose:
            state.trace = Trace(self.name)
            state.trace.crew_started(len(self.tasks), self.process.value)
        try:
            outputs = await run_sequential(self.tasks, state, self.task_callback)
        except Exception:
            await self._adrain_memories()
            raise
        await self._adrain_memories()
        last = next((o for o in reversed(outputs) if o.raw), outputs[-1])  # skips are empty
        result = fast_model(
            CrewOutput,
            {
                "raw": last.raw,
                "pydantic": last.pydantic,
                "json_dict": last.json_dict,
                "tasks_output": outputs,
                "token_usage": state.usage,
            },
        )
        for after in self.after_kickoff_callbacks:
            changed = await maybe_await(after(result))
            if changed is not None:
                result = changed
        if state.trace is not None:
            state.trace.crew_finished(state.usage)
        return result

    # -- kickoff variants ------------------------------------------------------------------

    async def akickoff(self, inputs: Inputs = None) -> Any:
        """Run the crew natively on the running event loop.

        Returns a :class:`CrewOutput`, or with ``stream=True`` a :class:`CrewStreamingOutput`
        to iterate with ``async for``.
        """
        if self.stream:
            _checked(inputs)
            return CrewStreamingOutput(lambda emit: self._arun(inputs, emit), sync=False)
        return await self._arun(inputs)

    def kickoff(self, inputs: Inputs = None) -> Any:
        """Run the crew synchronously (on the runtime's home loop); refuses inside a running
        loop.

        With ``stream=True`` returns a :class:`CrewStreamingOutput` to iterate with ``for``.
        """
        ensure_no_running_loop("Crew.kickoff", "Crew.akickoff")
        if self.stream:
            _checked(inputs)
            return CrewStreamingOutput(lambda emit: self._arun(inputs, emit), sync=True)
        return get_runtime().run(self._arun(inputs), api="Crew.kickoff", async_api="Crew.akickoff")

    async def kickoff_async(self, inputs: Inputs = None) -> Any:
        """CrewAI's thread-based async: ``kickoff()`` in a worker thread.

        Kept thread-based on purpose (it is what the benchmarks compare against); prefer
        :meth:`akickoff`. With ``stream=True`` it streams natively, like :meth:`akickoff`.
        """
        if self.stream:
            return await self.akickoff(inputs)
        return await asyncio.to_thread(self.kickoff, inputs)

    def kickoff_for_each(self, inputs: Iterable[Mapping[str, Any]]) -> list[Any]:
        """Run the crew once per input, one after another; outputs in input order.

        With ``stream=True`` returns one :class:`CrewStreamingOutput` per input.
        """
        ensure_no_running_loop("Crew.kickoff_for_each", "Crew.akickoff_for_each")
        if self.stream:
            return [self.kickoff(item) for item in inputs]

        async def sequential() -> list[CrewOutput]:
            return [await self._arun(item) for item in inputs]

        return get_runtime().run(
            sequential(), api="Crew.kickoff_for_each", async_api="Crew.akickoff_for_each"
        )

    async def akickoff_for_each(
        self,
        inputs: ManyInputs,
        max_concurrency: int | None = None,
        return_exceptions: bool = False,
    ) -> Any:
        """Run the crew once per input, concurrently; outputs in input order.

        ``inputs`` may be any iterable or async iterable (a generator of millions of rows is
        consumed lazily). At most ``max_concurrency`` runs are in flight (default
        ``DEFAULT_MAX_CONCURRENCY``), and never more live tasks than that. With
        ``return_exceptions=True`` a failed input yields its exception in its place and the
        rest finish; otherwise the first failure cancels the runs in flight and is raised.
        With ``stream=True`` returns one :class:`CrewStreamingOutput` for all runs (chunks
        carry ``input_index``; ``.result`` is the list of outputs).
        """
        bound = DEFAULT_MAX_CONCURRENCY if max_concurrency is None else max_concurrency

        def many(emit: Emit | None) -> Any:
            return bounded_map(
                lambda i, item: self._arun(item, emit, i if emit is not None else None),
                inputs,
                bound,
                return_exceptions=return_exceptions,
            )

        if self.stream:
            return CrewStreamingOutput(many, sync=False)
        return await many(None)

    def akickoff_for_each_iter(
        self,
        inputs: ManyInputs,
        max_concurrency: int | None = None,
        return_exceptions: bool = False,
    ) -> AsyncIterator[Any]:
        """Like :meth:`akickoff_for_each`, but an async iterator of the outputs, one by one
        in input order, instead of one list at the end (a fastcrew extra; CrewAI has none).

        Memory stays bounded however many inputs there are: at most ``max_concurrency`` runs
        in flight and at most ``2 * max_concurrency`` inputs started but not yet yielded.
        Use it for large or unbounded inputs (``async for out in crew.akickoff_for_each_iter
        (rows): write(out)``). ``return_exceptions`` as in :meth:`akickoff_for_each`, except
        that without it the outputs before the first failing input are yielded before its
        error is raised. Leaving the loop early (``break``, ``aclose()``) cancels the runs in
        flight; wrap it in ``contextlib.aclosing`` to have that happen at once.
        """
        if self.stream:
            raise ConfigurationError(
                "Crew.akickoff_for_each_iter yields whole outputs and does not stream chunks; "
                "use Crew.akickoff_for_each with stream=True for chunks, or set stream=False"
            )
        bound = DEFAULT_MAX_CONCURRENCY if max_concurrency is None else max_concurrency
        return bounded_iter(
            lambda _i, item: self._arun(item), inputs, bound, return_exceptions=return_exceptions
        )

    kickoff_for_each_async: ClassVar[Callable[..., Any]] = akickoff_for_each
    """CrewAI's other name for :meth:`akickoff_for_each`."""
