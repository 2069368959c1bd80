"""``@persist``: save a flow's state after its methods complete (CrewAI's decorator).

::

    @persist()                       # on the class: after every method
    class MyFlow(Flow[MyState]): ...

    class Other(Flow):
        @start()
        @persist(SQLiteFlowPersistence("flows.db"), verbose=True)   # after this method only
        def fetch(self): ...

The decorators only mark the class or the function; what to save where is worked out once
per class, at its first kickoff (:func:`plan_of`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ...errors import ConfigurationError
from .base import FlowPersistence, check_store, describe

__all__ = ["PersistPlan", "PersistSpec", "persist", "plan_of"]

T = TypeVar("T")
CLASS_MARK = "_fastcrew_persist_class"
METHOD_MARK = "_fastcrew_persist"
_PLAN = "_fastcrew_persist_plan"


@dataclass(frozen=True, slots=True)
class PersistSpec:
    """What one ``@persist(...)`` said."""

    persistence: FlowPersistence | None
    verbose: bool


@dataclass(frozen=True, slots=True)
class PersistPlan:
    """The persistence of one Flow class."""

    store: FlowPersistence | None
    """The store the decorators named (None: the default SQLite file)."""
    methods: frozenset[str]
    """The methods after which the state is saved."""
    verbose: bool


def persist(persistence: FlowPersistence | None = None, verbose: bool = False) -> Callable[[T], T]:
    """Save the flow's state after methods complete: on a Flow class after every method, on
    a method after that one. ``persistence``: the store (default: a
    :class:`~fastcrew.flow.persistence.SQLiteFlowPersistence` at its default path);
    ``verbose``: say on stderr when a state is saved. Also usable bare (``@persist``)."""
    if isinstance(persistence, type) or (
        callable(persistence) and not isinstance(persistence, FlowPersistence)
    ):
        return _mark(persistence, PersistSpec(None, bool(verbose)))
    spec = PersistSpec(check_store(persistence, "@persist"), bool(verbose))
    return lambda target: _mark(target, spec)


def _mark(target: Any, spec: PersistSpec) -> Any:
    if isinstance(target, type):
        if not hasattr(target, "_fastcrew_graph"):
            raise ConfigurationError(
                f"@persist decorates a Flow subclass or a flow method, not the class "
                f"{target.__name__}"
            )
        setattr(target, CLASS_MARK, spec)
        if _PLAN in vars(target):
            delattr(target, _PLAN)
        return target
    if callable(target):
        setattr(target, METHOD_MARK, spec)
        return target
    raise ConfigurationError(
        f"@persist decorates a Flow subclass or a flow method, not {type(target).__name__}"
    )


def plan_of(cls: type) -> PersistPlan | None:
    """The persistence plan of Flow class ``cls`` (None: nothing is persisted), cached."""
    cached = vars(cls).get(_PLAN, False)
    if cached is not False:
        return cached
    plan = _make_plan(cls)
    setattr(cls, _PLAN, plan)
    return plan


def _make_plan(cls: type) -> PersistPlan | None:
    steps = cls._fastcrew_graph.steps  # type: ignore[attr-defined]
    whole: PersistSpec | None = getattr(cls, CLASS_MARK, None)
    specs = {name: getattr(step.func, METHOD_MARK, None) for name, step in steps.items()}
    marked = {name: spec for name, spec in specs.items() if spec is not None}
    if whole is None and not marked:
        return None
    stores: list[FlowPersistence] = []
    for spec in ([whole] if whole is not None else []) + list(marked.values()):
        if spec.persistence is not None and spec.persistence not in stores:
            stores.append(spec.persistence)
    if len(stores) > 1:
        raise ConfigurationError(
            f"{cls.__name__}: @persist names {len(stores)} different stores "
            f"({', '.join(describe(s) for s in stores)}); a flow keeps its state in one "
            "store — name it once (on the class) or pass Flow(persistence=...)"
        )
    methods = frozenset(steps) if whole is not None else frozenset(marked)
    verbose = any(s.verbose for s in ([whole] if whole is not None else []) + list(marked.values()))
    return PersistPlan(stores[0] if stores else None, methods, verbose)
