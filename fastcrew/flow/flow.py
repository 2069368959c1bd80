"""``Flow``: CrewAI's event-driven pipelines (``@start``, ``@listen``, ``@router``, ``and_``,
``or_``), natively async.

How a kickoff runs:

- Every ``@start()`` method runs at once, concurrently. When a method returns, the methods
  whose condition that completion fires run next — all of them concurrently; a router's
  return value is a label and fires the ``@listen("label")`` methods too.
- ``async def`` methods run on the event loop; plain ``def`` methods in a worker thread
  of the process runtime's pool (``Runtime.run_in_thread``), so they never block the loop
  (and may call ``crew.kickoff()``).
- Every method has an owner: one ``asyncio.TaskGroup`` per kickoff. A failing method cancels
  the methods running beside it and its error is raised as itself, with a note naming the
  method (a method running in a thread cannot be interrupted: its result is discarded).
- A kickoff runs at most ``max_steps`` methods (and one method at most ``max_method_calls``
  times), then raises :class:`FlowLimitError`: a router loop always ends.
- The return value is the output of the last method to finish.
- With ``@persist`` (or ``Flow(persistence=...)``) the state is saved after methods complete
  and ``kickoff(inputs={"id": ...})`` restores it, continuing an interrupted kickoff where
  it stopped; ``kickoff(restore_from_state_id=...)`` forks a saved state into a new run
  (:mod:`fastcrew.flow.persistence`).

The graph of a Flow class is compiled once, when the class is created; a kickoff only walks
it (no validation, no copies, no events, no store on the hot path).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, ClassVar, Generic, TypeVar

from .._failures import first_failure
from ..errors import ConfigurationError, InputError, UnsupportedFeatureError
from ..llm.meter import UsageMeter, metered, metrics_of
from ..llm.usage import UsageMetrics
from ..process_runtime import get_runtime
from ._graph import (
    TRIGGER_PAYLOAD,
    FlowError,
    FlowLimitError,
    Graph,
    and_,
    build_graph,
    listen,
    or_,
    router,
    start,
)
from ._run import NO_INPUT, Run
from ._state import FlowState, StateSpec, state_spec
from .definition import FlowDefinition, build_definition
from .memory import FlowMemory, adopt_class_memory, adrain_memory, init_memory
from .persistence.base import check_store
from .persistence.decorators import persist
from .persistence.recorder import open_recorder

__all__ = [
    "DEFAULT_MAX_METHOD_CALLS",
    "DEFAULT_MAX_STEPS",
    "Flow",
    "FlowError",
    "FlowLimitError",
    "FlowState",
    "and_",
    "listen",
    "or_",
    "persist",
    "router",
    "start",
]

StateT = TypeVar("StateT")

DEFAULT_MAX_STEPS = 1000
"""Methods one kickoff may run in all (``Flow.max_steps``)."""
DEFAULT_MAX_METHOD_CALLS = 100
"""Times one method may run in one kickoff (``Flow.max_method_calls``, as in CrewAI)."""


class Flow(FlowMemory, Generic[StateT]):
    """A flow, as in CrewAI: subclass it, decorate methods, ``kickoff()``.

    The state is ``Flow[Model]`` (a pydantic model; an ``id`` field is added if it has none),
    ``initial_state = Model`` / a model instance / a dict, or else a dict (``self.state["k"]``)
    with an ``id``. ``kickoff(inputs=...)`` merges the inputs into the state (validated for a
    model: bad inputs raise :class:`~fastcrew.InputError` before any method runs). The state
    belongs to the instance and carries over to its next kickoff, as in CrewAI; an instance
    runs one kickoff at a time — use one instance per concurrent run.

    Keyword arguments of the constructor other than the options below are initial state
    values (CrewAI's ``Flow(**kwargs)``). ``persistence``: the store ``kickoff(inputs={"id":
    ...})`` restores from and ``@persist`` saves to (default: the one ``@persist`` names).
    ``memory``: the flow's memory (``self.remember`` / ``recall``, :mod:`fastcrew.flow.memory`).
    """

    initial_state: ClassVar[Any] = None
    name: ClassVar[str | None] = None
    stream: ClassVar[bool] = False
    max_steps: int = DEFAULT_MAX_STEPS
    max_method_calls: int = DEFAULT_MAX_METHOD_CALLS

    _fastcrew_graph: ClassVar[Graph]
    _fastcrew_state: ClassVar[StateSpec]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._fastcrew_graph = build_graph(cls)
        cls._fastcrew_state = state_spec(cls, Flow)
        adopt_class_memory(cls)

    def __init__(
        self,
        *,
        max_steps: int | None = None,
        max_method_calls: int | None = None,
        persistence: Any = None,
        tracing: bool | None = None,
        suppress_flow_events: bool = False,
        memory: Any = None,
        **state_values: Any,
    ) -> None:
        cls = type(self)
        if cls is Flow:
            raise ConfigurationError("subclass Flow and decorate its methods; Flow runs nothing")
        self._persistence = check_store(persistence, cls.__name__)
        if max_steps is not None:
            self.max_steps = _positive("max_steps", max_steps)
        if max_method_calls is not None:
            self.max_method_calls = _positive("max_method_calls", max_method_calls)
        self._state: Any = cls._fastcrew_state.new(state_values) if state_values else None
        self._method_outputs: list[Any] = []
        self._running = False
        self._usage = UsageMeter()
        init_memory(self, memory)

    @classmethod
    def flow_definition(cls) -> FlowDefinition:
        """A static description of this class: its methods' triggers, routers and their
        labels, state, settings and ``@persist`` (CrewAI 1.15's ``flow_definition()``)."""
        return build_definition(cls, Flow)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(flow_id={self.flow_id!r})"

    # -- state ---------------------------------------------------------------------------

    @property
    def state(self) -> StateT:
        """This flow's state: a dict, or an instance of the state model."""
        if self._state is None:
            self._state = type(self)._fastcrew_state.new(None)
        return self._state

    @property
    def flow_id(self) -> str:
        """The state's ``id``."""
        state = self.state
        return str(state["id"] if isinstance(state, dict) else getattr(state, "id", ""))

    @property
    def method_outputs(self) -> list[Any]:
        """The outputs of the methods the last kickoff ran, in the order they finished."""
        return self._method_outputs

    @property
    def usage_metrics(self) -> UsageMetrics:
        """The LLM usage of the last (or running) kickoff: every successful call its methods
        made — crews, ``Agent.kickoff``, direct ``llm.acall`` / ``achat``, flows kicked off
        inside — as CrewAI's ``UsageMetrics`` (a new object each time)."""
        return metrics_of(self._usage)

    def state_json(self) -> Any:
        """The state as JSON-ready data (a model is dumped in JSON mode)."""
        return type(self)._fastcrew_state.to_json(self.state)

    # -- kickoff ---------------------------------------------------------------------------

    async def akickoff(
        self,
        inputs: Mapping[str, Any] | None = None,
        *,
        max_steps: int | None = None,
        restore_from_state_id: str | None = None,
    ) -> Any:
        """Run the flow on the running event loop; return the last method's output.

        ``inputs`` are merged into the state first; ``max_steps`` overrides the bound on the
        number of methods this kickoff may run. ``restore_from_state_id`` forks a persisted
        flow: its latest saved state seeds this run, which gets a new id (or ``inputs["id"]``)
        and runs from the start methods; an unknown id is ignored (CrewAI's fork).
        """
        cls = type(self)
        if self._running:
            raise FlowError(
                f"this {cls.__name__} instance is already running a kickoff: an instance "
                f"holds the state of one run at a time; use one instance per concurrent run "
                f"({cls.__name__}().akickoff(...))"
            )
        if self.stream:  # set on the class or, as CrewAI's tests do, on the instance
            raise UnsupportedFeatureError(
                f"{cls.__name__}: streaming flows (stream=True) are not supported by "
                "fastcrew yet; stream the crews inside the methods instead"
            )
        self._running = True
        try:
            with metered() as self._usage:
                return await self._kickoff(inputs, max_steps, restore_from_state_id)
        finally:
            try:
                await adrain_memory(self)  # the memory's background saves (flow/memory.py)
            finally:
                self._running = False

    async def kickoff_async(
        self,
        inputs: Mapping[str, Any] | None = None,
        *,
        max_steps: int | None = None,
        restore_from_state_id: str | None = None,
    ) -> Any:
        """Same as :meth:`akickoff` (a flow's async kickoff is native, as in CrewAI)."""
        return await self.akickoff(
            inputs, max_steps=max_steps, restore_from_state_id=restore_from_state_id
        )

    def kickoff(
        self,
        inputs: Mapping[str, Any] | None = None,
        *,
        max_steps: int | None = None,
        restore_from_state_id: str | None = None,
    ) -> Any:
        """Run the flow to completion on the runtime's home loop; return the last method's output.

        Inside a running event loop this raises: use ``await flow.akickoff()`` (or
        ``await flow.kickoff_async()``) there.
        """
        name = type(self).__name__
        return get_runtime().run(
            self.akickoff(inputs, max_steps=max_steps, restore_from_state_id=restore_from_state_id),
            api=f"{name}.kickoff",
            async_api=f"{name}.akickoff(...)` or `await {name}.kickoff_async",
        )

    async def _kickoff(
        self, inputs: Mapping[str, Any] | None, max_steps: int | None, fork: str | None
    ) -> Any:
        cls = type(self)
        graph = cls._fastcrew_graph
        if not graph.entries:
            raise ConfigurationError(f"{cls.__name__} has no @start() method: nothing to run")
        if inputs is not None and not isinstance(inputs, Mapping):
            raise InputError(
                f"{cls.__name__}.kickoff(inputs=...) takes a mapping, not {type(inputs).__name__}"
            )
        recorder = await open_recorder(self, inputs, NO_INPUT, fork)
        if recorder is None or not recorder.restored:
            if self._state is None:
                self._state = cls._fastcrew_state.new(inputs)
            elif inputs:
                self._state = cls._fastcrew_state.merge(self._state, inputs)
        bound = self.max_steps if max_steps is None else _positive("max_steps", max_steps)
        trigger = inputs.get(TRIGGER_PAYLOAD) if inputs else None
        state = Run(self, graph, bound, self.max_method_calls, recorder, trigger)
        self._method_outputs = state.outputs
        if recorder is None:
            todo = [(step, NO_INPUT, 0) for step in graph.entries]
        else:
            todo = recorder.start(state, graph.entries)
        try:
            async with asyncio.TaskGroup() as group:
                state.group = group
                for step, payload, token in todo[1:]:
                    call = state.go(step, payload, token, state.new_wave())
                    group.create_task(call, name=step.name)
                if todo:
                    await state.go(*todo[0], state.new_wave())
        except BaseExceptionGroup as failed:
            raise first_failure(failed, state.failures, "method(s)") from None
        if recorder is not None:
            await recorder.finish(state)
        return state.last


def _positive(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{name} must be a positive int, not {value!r}")
    return value
