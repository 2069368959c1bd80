"""The bookkeeping of one kickoff: running methods, counting them, and what each completion fires.

``or_`` listeners (a multi-source ``or_`` that is not a router) fire once, then stay quiet
until they are re-armed, by CrewAI's two rules:

- any method running again in the kickoff (a loop came round) re-arms them all;
- a router's label re-arms the listeners that listen to it — except those that fired in the
  same **wave**: a method's completion and the chain of routers it sets off share a wave, so
  ``router_a -> "A" -> router_b -> "B"`` fires ``or_("A", "B")`` once, while a label
  emitted after a later completion (a router loop) fires it again.
"""

from __future__ import annotations

import asyncio
import enum
import inspect
from typing import TYPE_CHECKING, Any

from ..process_runtime import get_runtime
from ._graph import TRIGGER_PAYLOAD, FlowLimitError, Graph, Step, fires, label_of

if TYPE_CHECKING:
    from .persistence.recorder import Recorder

__all__ = ["NO_INPUT", "Run"]

NO_INPUT: Any = object()
"""The payload of a start method run at kickoff: it is called without an argument."""


class Run:
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
        "trigger",
        "waves",
    )

    def __init__(
        self,
        flow: Any,
        graph: Graph,
        max_steps: int,
        max_calls: int,
        recorder: Recorder | None = None,
        trigger: Any = None,
    ) -> None:
        self.flow = flow
        self.trigger = trigger
        """``inputs["crewai_trigger_payload"]``, for start methods that take it."""
        self.recorder = recorder
        self.graph = graph
        self.max_steps = max_steps
        self.max_calls = max_calls
        self.steps = 0
        self.counts: dict[str, int] = {}
        self.seen = [0] * graph.n_alls
        self.fired: dict[str, int] = {}
        """Fired ``or_`` listeners, each with the wave it fired in."""
        self.waves = 0
        self.outputs: list[Any] = []
        self.last: Any = None
        self.failures: list[BaseException] = []
        self.group: asyncio.TaskGroup

    def new_wave(self) -> int:
        self.waves += 1
        return self.waves

    async def go(self, step: Step, payload: Any, token: int = 0, wave: int = 0) -> None:
        """Run ``step``, then what it fires: the first in this task, the rest in new ones.
        ``token``: the recorder's handle on this pending call (persisted flows); ``wave``:
        the wave the call belongs to (see the module's docstring)."""
        while True:
            result = await self.call(step, payload)
            if not step.router:
                wave = self.new_wave()
            following = self.dispatch(step, payload, result, wave)
            tokens = None
            if self.recorder is not None:
                tokens = await self.recorder.completed(self, token, step, following)
            if not following:
                return
            for i, (other, value) in enumerate(following[1:], 1):
                task = self.go(other, value, tokens[i] if tokens else 0, wave)
                self.group.create_task(task, name=other.name)
            step, payload = following[0]
            token = tokens[0] if tokens else 0

    async def call(self, step: Step, payload: Any) -> Any:
        try:
            self._count(step)
            try:
                flow = self.flow
                args = (flow,) if payload is NO_INPUT or not step.takes_arg else (flow, payload)
                kwargs = {}
                if step.trigger and payload is NO_INPUT and self.trigger is not None:
                    kwargs[TRIGGER_PAYLOAD] = self.trigger
                if step.is_async:
                    result = await step.func(*args, **kwargs)
                else:
                    result = await get_runtime().run_in_thread(step.func, *args, **kwargs)
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
        if calls > 1:
            self.fired.clear()  # a loop came round: or_ listeners may fire again

    def dispatch(
        self, step: Step, payload: Any, result: Any, wave: int = 0
    ) -> list[tuple[Step, Any]]:
        """The methods (with their argument) that the completion of ``step`` fires."""
        following: list[tuple[Step, Any]] = []
        self._fire(step.name, result, following, wave)
        if step.router and result is not None:
            label = label_of(result)
            self._rearm(label, wave)
            value = result.value if isinstance(result, enum.Enum) else result
            self._fire(label, value, following, wave)  # label listeners get the label
        return following

    def _rearm(self, label: str, wave: int) -> None:
        """A router emitted ``label``: its or_ listeners that fired in another wave re-arm."""
        if not self.fired:
            return
        for step in self.graph.index.get(label, ()):
            if step.once and self.fired.get(step.name, wave) != wave:
                del self.fired[step.name]

    def _fire(self, event: str, value: Any, into: list[tuple[Step, Any]], wave: int) -> None:
        listeners = self.graph.index.get(event)
        if listeners is None:
            return
        seen = self.seen
        for step in listeners:
            if step.leaf is None:
                if step.once and step.name in self.fired:
                    continue  # a fired or_ listener sees nothing until re-armed, as in CrewAI
                if not fires(step.node, event, seen):  # type: ignore[arg-type]
                    continue
                if step.once:
                    self.fired[step.name] = wave
                for slot in step.slots:
                    seen[slot] = 0
            into.append((step, value))
