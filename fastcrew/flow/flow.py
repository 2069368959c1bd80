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
  it stopped (:mod:`fastcrew.flow.persistence`).

The graph of a Flow class is compiled once, when the class is created; a kickoff only walks
it (no validation, no copies, no events, no store on the hot path).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Mapping
from typing import Any, ClassVar, Generic, TypeVar

from .._failures import first_failure
from ..core import get_runtime
from ..errors import ConfigurationError, InputError, UnsupportedFeatureError
from ._graph import (
    FlowError,
    FlowLimitError,
    Graph,
    Step,
    and_,
    build_graph,
    fires,
    label_of,
    listen,
    or_,
    router,
    start,
)
from ._state import FlowState, StateSpec, state_spec
from .persistence.base import check_store
from .persistence.decorators import persist
from .persistence.recorder import Recorder, open_recorder

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

_NO_INPUT: Any = object()
"""The payload of a start method run at kickoff: it is called without an argument."""


class Flow(Generic[StateT]):
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

    def __init__(
        self,
        *,
        max_steps: int | None = None,
        max_method_calls: int | None = None,
        persistence: Any = None,
        tracing: bool | None = None,
        suppress_flow_events: bool = False,
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

    def state_json(self) -> Any:
        """The state as JSON-ready data (a model is dumped in JSON mode)."""
        return type(self)._fastcrew_state.to_json(self.state)

    # -- kickoff ---------------------------------------------------------------------------

    async def akickoff(
        self, inputs: Mapping[str, Any] | None = None, *, max_steps: int | None = None
    ) -> Any:
        """Run the flow on the running event loop; return the last method's output.

        ``inputs`` are merged into the state first; ``max_steps`` overrides the bound on the
        number of methods this kickoff may run.
        """
        cls = type(self)
        if self._running:
            raise FlowError(
                f"this {cls.__name__} instance is already running a kickoff: an instance "
                f"holds the state of one run at a time; use one instance per concurrent run "
                f"({cls.__name__}().akickoff(...))"
            )
        if cls.stream:
            raise UnsupportedFeatureError(
                f"{cls.__name__}: streaming flows (stream=True) are not supported by "
                "fastcrew yet; stream the crews inside the methods instead"
            )
        self._running = True
        try:
            return await self._kickoff(inputs, max_steps)
        finally:
            self._running = False

    async def kickoff_async(
        self, inputs: Mapping[str, Any] | None = None, *, max_steps: int | None = None
    ) -> Any:
        """Same as :meth:`akickoff` (a flow's async kickoff is native, as in CrewAI)."""
        return await self.akickoff(inputs, max_steps=max_steps)

    def kickoff(
        self, inputs: Mapping[str, Any] | None = None, *, max_steps: int | None = None
    ) -> Any:
        """Run the flow to completion on the runtime's home loop; return the last method's output.

        Inside a running event loop this raises: use ``await flow.akickoff()`` (or
        ``await flow.kickoff_async()``) there.
        """
        name = type(self).__name__
        return get_runtime().run(
            self.akickoff(inputs, max_steps=max_steps),
            api=f"{name}.kickoff",
            async_api=f"{name}.akickoff(...)` or `await {name}.kickoff_async",
        )

    async def _kickoff(self, inputs: Mapping[str, Any] | None, max_steps: int | None) -> Any:
        cls = type(self)
        graph = cls._fastcrew_graph
        if not graph.entries:
            raise ConfigurationError(f"{cls.__name__} has no @start() method: nothing to run")
        if inputs is not None and not isinstance(inputs, Mapping):
            raise InputError(
                f"{cls.__name__}.kickoff(inputs=...) takes a mapping, not {type(inputs).__name__}"
            )
        recorder = await open_recorder(self, inputs, _NO_INPUT)
        if recorder is None or not recorder.restored:
            if self._state is None:
                self._state = cls._fastcrew_state.new(inputs)
            elif inputs:
                self._state = cls._fastcrew_state.merge(self._state, inputs)
        bound = self.max_steps if max_steps is None else _positive("max_steps", max_steps)
        state = _Run(self, graph, bound, self.max_method_calls, recorder)
        self._method_outputs = state.outputs
        if recorder is None:
            todo = [(step, _NO_INPUT, 0) for step in graph.entries]
        else:
            todo = recorder.start(state, graph.entries)
        try:
            async with asyncio.TaskGroup() as group:
                state.group = group
                for step, payload, token in todo[1:]:
                    group.create_task(state.go(step, payload, token), name=step.name)
                if todo:
                    await state.go(*todo[0])
        except BaseExceptionGroup as failed:
            raise first_failure(failed, state.failures, "method(s)") from None
        if recorder is not None:
            await recorder.finish(state)
        return state.last


class _Run:
    """The bookkeeping of one kickoff."""

    __slots__ = (
        "counts",
        "failures",
        "fired",
        "flow",
        "graph",
        "group",
        "last",
        "max_calls",
        "max_steps",
        "outputs",
        "recorder",
        "seen",
        "steps",
    )

    def __init__(
        self,
        flow: Flow[Any],
        graph: Graph,
        max_steps: int,
        max_calls: int,
        recorder: Recorder | None = None,
    ) -> None:
        self.flow = flow
        self.recorder = recorder
        self.graph = graph
        self.max_steps = max_steps
        self.max_calls = max_calls
        self.steps = 0
        self.counts: dict[str, int] = {}
        self.seen = [0] * graph.n_alls
        self.fired: set[str] = set()
        self.outputs: list[Any] = []
        self.last: Any = None
        self.failures: list[BaseException] = []
        self.group: asyncio.TaskGroup

    async def go(self, step: Step, payload: Any, token: int = 0) -> None:
        """Run ``step``, then what it fires: the first in this task, the rest in new ones.
        ``token``: the recorder's handle on this pending call (persisted flows)."""
        while True:
            result = await self.call(step, payload)
            following = self.dispatch(step, payload, result)
            tokens = None
            if self.recorder is not None:
                tokens = await self.recorder.completed(self, token, step, following)
            if not following:
                return
            for i, (other, value) in enumerate(following[1:], 1):
                task = self.go(other, value, tokens[i] if tokens else 0)
                self.group.create_task(task, name=other.name)
            step, payload = following[0]
            token = tokens[0] if tokens else 0

    async def call(self, step: Step, payload: Any) -> Any:
        try:
            self._count(step)
            try:
                flow = self.flow
                args = (flow,) if payload is _NO_INPUT or not step.takes_arg else (flow, payload)
                if step.is_async:
                    result = await step.func(*args)
                else:
                    result = await get_runtime().run_in_thread(step.func, *args)
                if inspect.isawaitable(result):
                    result = await result
            except Exception as exc:
                exc.add_note(f"in flow method {step.name!r} of {self.graph.flow_name}")
                raise
        except Exception as exc:
            self.failures.append(exc)
            raise
        self.outputs.append(result)
        self.last = result
        return result

    def _count(self, step: Step) -> None:
        self.steps += 1
        if self.steps > self.max_steps:
            raise FlowLimitError(
                f"{self.graph.flow_name} ran {self.max_steps} methods without finishing "
                f"(next: {step.name!r}); a router loop that never exits? Raise the bound with "
                "max_steps= (class attribute, Flow(max_steps=...) or kickoff(max_steps=...))"
            )
        calls = self.counts.get(step.name, 0) + 1
        self.counts[step.name] = calls
        if calls > self.max_calls:
            raise FlowLimitError(
                f"{self.graph.flow_name}.{step.name} was called {self.max_calls} times in one "
                "kickoff; a router loop that never exits (or a label equal to a method's "
                "name)? Raise the bound with max_method_calls="
            )

    def dispatch(self, step: Step, payload: Any, result: Any) -> list[tuple[Step, Any]]:
        """The methods (with their argument) that the completion of ``step`` fires."""
        following: list[tuple[Step, Any]] = []
        self._fire(step.name, result, following)
        if step.router and result is not None:
            self.fired.clear()  # a router's decision starts a new round for or_ listeners
            label = label_of(result)
            self._fire(label, label if payload is _NO_INPUT else payload, following)
        return following

    def _fire(self, event: str, value: Any, into: list[tuple[Step, Any]]) -> None:
        listeners = self.graph.index.get(event)
        if listeners is None:
            return
        for step in listeners:
            if step.leaf is None:
                if not fires(step.node, event, self.seen):  # type: ignore[arg-type]
                    continue
                if step.once:
                    if step.name in self.fired:
                        continue
                    self.fired.add(step.name)
            into.append((step, value))


def _positive(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{name} must be a positive int, not {value!r}")
    return value
