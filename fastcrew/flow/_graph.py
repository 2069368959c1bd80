"""The decorators, their conditions, and the per-class graph a kickoff runs on.

A decorated method keeps being a plain function; the decorators only attach a
:class:`StepMarks`. The first kickoff (or instantiation) of a Flow class compiles its steps
once into a :class:`Graph`: each condition becomes a small tree of :class:`Leaf` /
:class:`Any_` / :class:`All` nodes, and an index maps every event name (a method name or a
router label) to the steps whose condition mentions it. A kickoff then only walks that index.
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ..errors import ConfigurationError, FlowError, FlowLimitError

__all__ = [
    "All",
    "Any_",
    "Condition",
    "ConditionLike",
    "FlowError",
    "FlowLimitError",
    "Graph",
    "Leaf",
    "Step",
    "StepMarks",
    "and_",
    "build_graph",
    "label_of",
    "listen",
    "or_",
    "router",
    "start",
]

F = TypeVar("F", bound=Callable[..., Any])
MARKS = "_fastcrew_flow_step"
TRIGGER_PAYLOAD = "crewai_trigger_payload"


Condition = dict[str, Any]
"""What :func:`and_` / :func:`or_` return, as in CrewAI: ``{"type": "AND" | "OR",
"conditions": [name or nested condition, ...]}`` (methods are given by name)."""

ConditionLike = str | Callable[..., Any] | Mapping[str, Any]
"""What a decorator or and_()/or_() accepts as a condition."""


def _item(value: Any, where: str) -> ConditionLike:
    if isinstance(value, str | Mapping) or callable(value):
        return value
    raise ConfigurationError(
        f"Invalid condition in {where}: a condition is a method, a method name or label "
        f"(str), or and_()/or_(), not {type(value).__name__}"
    )


def _coerce(value: Any, where: str) -> str | Condition:
    """A condition of and_()/or_(): a name, or a nested condition dict."""
    _item(value, where)
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return dict(value)
    return str(value.__name__)


def and_(*conditions: ConditionLike) -> Condition:
    """A condition met once every one of ``conditions`` has fired (then it re-arms)."""
    if not conditions:
        raise ConfigurationError("and_() needs at least one condition")
    return {"type": "AND", "conditions": [_coerce(c, "and_()") for c in conditions]}


def or_(*conditions: ConditionLike) -> Condition:
    """A condition met by the first of ``conditions`` to fire.

    A listener on ``or_(a, b, ...)`` runs once, then again after a method re-runs (a loop)
    or when a router emits one of its labels in a later wave (see :mod:`fastcrew.flow._run`).
    """
    if not conditions:
        raise ConfigurationError("or_() needs at least one condition")
    return {"type": "OR", "conditions": [_coerce(c, "or_()") for c in conditions]}


@dataclass(slots=True)
class StepMarks:
    """What the decorators attached to a method."""

    start: bool = False
    router: bool = False
    condition: ConditionLike | None = None
    emit: tuple[str, ...] | None = None
    """A router's labels, as declared (``@router(emit=...)``); None: not declared."""


def _mark(
    func: F,
    decorator: str,
    condition: ConditionLike | None,
    emit: tuple[str, ...] | None = None,
    **flags: bool,
) -> F:
    if not callable(func):
        raise ConfigurationError(f"@{decorator}() decorates a method, not {type(func).__name__}")
    marks: StepMarks = getattr(func, MARKS, None) or StepMarks()
    if condition is not None:
        condition = _item(condition, f"@{decorator}() on {func.__name__}")
        if marks.condition is not None and marks.condition != condition:
            raise ConfigurationError(
                f"{func.__name__}: two different trigger conditions from stacked decorators"
            )
        marks.condition = condition
    if emit is not None:
        marks.emit = emit
    for name, value in flags.items():
        setattr(marks, name, getattr(marks, name) or value)
    setattr(func, MARKS, marks)
    return func


def start(condition: ConditionLike | None = None) -> Callable[[F], F]:
    """Mark an entry point: every ``@start()`` method runs when the flow starts (concurrently).

    With a ``condition`` the method also runs whenever the condition fires (e.g. a router
    label, for loops); conditional starts run at kickoff only if the flow has no
    unconditional one, as in CrewAI.
    """
    if condition is not None:
        _item(condition, "@start()")
    return lambda func: _mark(func, "start", condition, start=True)


def listen(condition: ConditionLike) -> Callable[[F], F]:
    """Run the method when ``condition`` fires: a method, a method name or router label,
    or ``and_(...)`` / ``or_(...)`` (nested freely). A method taking an argument receives
    the return value of the method (for a router label: the label) that fired it."""
    _item(condition, "@listen()")
    return lambda func: _mark(func, "listen", condition)


def router(
    condition: ConditionLike | None = None, *, emit: Sequence[str] | str | None = None
) -> Callable[[F], F]:
    """Like :func:`listen`, and the return value is a label: ``@listen("label")`` methods
    fire on it (an ``Enum`` gives its value, anything else ``str()``; ``None`` fires none).

    Without a condition it is stacked with ``@start()`` or ``@listen(...)``. ``emit``: the
    labels it may return, for :meth:`Flow.flow_definition` (CrewAI's ``emit=``; else read
    from a ``Literal`` / ``Enum`` return annotation); it does not restrict what runs.
    """
    if condition is not None:
        _item(condition, "@router()")
    labels = None
    if emit is not None:
        labels = (emit,) if isinstance(emit, str) else tuple(dict.fromkeys(map(str, emit)))
    return lambda func: _mark(func, "router", condition, labels, router=True)


# -- compiled conditions -------------------------------------------------------------------


class Leaf:
    """A method name or a router label."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


class Any_:
    """``or_``: fires when any child fires."""

    __slots__ = ("children",)

    def __init__(self, children: list[Node]) -> None:
        self.children = children


class All:
    """``and_``: fires once every child has fired since it last fired; ``slot`` indexes the
    per-kickoff bit set of children seen so far."""

    __slots__ = ("children", "full", "slot")

    def __init__(self, children: list[Node], slot: int) -> None:
        self.children = children
        self.slot = slot
        self.full = (1 << len(children)) - 1


Node = Leaf | Any_ | All


def fires(node: Node, event: str, seen: list[int]) -> bool:
    """Whether ``node`` fires on ``event``; updates the and_ bit sets in ``seen``."""
    if type(node) is Leaf:
        return node.name == event
    if type(node) is Any_:
        hit = False
        for child in node.children:
            if fires(child, event, seen):  # no short cut: nested and_s must see the event
                hit = True
        return hit
    assert type(node) is All
    bits = seen[node.slot]
    for i, child in enumerate(node.children):
        if fires(child, event, seen):
            bits |= 1 << i
    if bits == node.full:
        seen[node.slot] = 0
        return True
    seen[node.slot] = bits
    return False


def _names(node: Node) -> set[str]:
    if type(node) is Leaf:
        return {node.name}
    out: set[str] = set()
    for child in node.children:  # type: ignore[union-attr]
        out |= _names(child)
    return out


def _compile(cond: ConditionLike, alls: list[All], where: str) -> Node:
    if isinstance(cond, str):
        if not cond:
            raise ConfigurationError(f"{where}: an empty name in a condition")
        return Leaf(cond)
    if isinstance(cond, Mapping):  # CrewAI's dict form: {"type": "AND", "conditions": [...]}
        kind = str(cond.get("type", "OR")).upper()
        items = tuple(cond.get("conditions", cond.get("methods", ())))
        if kind not in ("AND", "OR") or not items:
            raise ConfigurationError(f"{where}: a malformed condition {dict(cond)!r}")
    elif callable(cond):
        return Leaf(cond.__name__)
    else:
        raise ConfigurationError(f"{where}: a malformed condition {cond!r}")
    children = [_compile(_item(c, where), alls, where) for c in items]
    if len(children) == 1:
        return children[0]
    if kind == "OR":
        return Any_(children)
    node = All(children, len(alls))
    alls.append(node)
    return node


# -- the per-class graph -------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class Step:
    """One flow method, compiled."""

    name: str
    func: Callable[..., Any]
    is_async: bool
    takes_arg: bool
    start: bool
    router: bool
    node: Node | None
    leaf: str | None
    """The one name the condition is, when it is that simple (the fast path)."""
    once: bool
    """A multi-source ``or_`` listener: fires once until re-armed (see ``_run``)."""
    trigger: bool = False
    """A start method with a ``crewai_trigger_payload`` parameter: at kickoff it receives
    ``inputs["crewai_trigger_payload"]`` (CrewAI's trigger payload)."""
    slots: tuple[int, ...] = ()
    """The ``and_`` nodes inside an ``or_`` condition: forgotten when the step fires (CrewAI
    keeps one set of seen events per listener, cleared when it fires)."""


@dataclass(slots=True)
class Graph:
    """Everything a kickoff of one Flow class needs, computed once per class."""

    flow_name: str
    steps: dict[str, Step]
    entries: list[Step]
    index: dict[str, list[Step]]
    n_alls: int
    has_routers: bool


def _takes_arg(func: Callable[..., Any]) -> bool:
    try:
        params = list(inspect.signature(func).parameters.values())[1:]  # drop self
    except (TypeError, ValueError):
        return False
    return any(
        p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in params
    )


def _has_param(func: Callable[..., Any], name: str) -> bool:
    try:
        return name in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False


def build_graph(cls: type) -> Graph:
    """Compile the flow methods of ``cls`` (its own and inherited ones)."""
    found: dict[str, tuple[Callable[..., Any], StepMarks]] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            marks = getattr(value, MARKS, None)
            if isinstance(marks, StepMarks):
                found[name] = (value, marks)
            else:
                found.pop(name, None)  # overridden by an undecorated attribute
    flow = cls.__name__
    has_routers = any(m.router for _, m in found.values())
    alls: list[All] = []
    steps: dict[str, Step] = {}
    for name, (func, marks) in found.items():
        where = f"{flow}.{name}"
        if marks.condition is None and not marks.start:
            raise ConfigurationError(
                f"{where}: @router() needs a condition unless it is a @start()"
            )
        first_slot = len(alls)
        node = None if marks.condition is None else _compile(marks.condition, alls, where)
        if node is not None and not marks.start and name in _names(node):
            shown = marks.condition if isinstance(marks.condition, str | Mapping) else name
            raise ConfigurationError(
                f"Invalid flow definition for {flow}: {name} listens to {shown!r}, which "
                f"names the method itself; its own completion would fire it again, forever. "
                "Listen to another method or label, or rename the method"
            )
        for ref in _names(node) if node is not None else ():
            if ref in found:
                continue
            if callable(getattr(cls, ref, None)):
                raise ConfigurationError(
                    f"{where} listens to {ref!r}, which is not a flow method: decorate it "
                    "with @start(), @listen() or @router()"
                )
            if not has_routers:
                raise ConfigurationError(
                    f"{where} listens to {ref!r}, which is neither a method of {flow} nor a "
                    "label a router could return (the flow has no @router)"
                )
        steps[name] = Step(
            name=name,
            func=func,
            is_async=inspect.iscoroutinefunction(func),
            takes_arg=_takes_arg(func),
            start=marks.start,
            router=marks.router,
            node=node,
            leaf=node.name if type(node) is Leaf else None,
            once=type(node) is Any_ and not marks.router,
            slots=tuple(range(first_slot, len(alls))) if type(node) is Any_ else (),
            trigger=marks.start and _has_param(func, TRIGGER_PAYLOAD),
        )
    starts = [s for s in steps.values() if s.start]
    unconditional = [s for s in starts if s.node is None]
    index: dict[str, list[Step]] = {}
    for step in steps.values():
        if step.node is not None:
            for ref in sorted(_names(step.node)):
                index.setdefault(ref, []).append(step)
    return Graph(
        flow_name=flow,
        steps=steps,
        entries=unconditional or starts,
        index=index,
        n_alls=len(alls),
        has_routers=has_routers,
    )


def label_of(value: Any) -> str:
    """The label a router's return value stands for."""
    if isinstance(value, enum.Enum):
        return str(value.value)
    return value if isinstance(value, str) else str(value)
