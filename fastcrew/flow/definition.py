"""``Flow.flow_definition()``: a static, serializable description of a Flow class, with the
field names of CrewAI 1.15's ``FlowDefinition`` (``methods[name].start / listen / router /
emit / persist``, ``state``, ``config``, ``persist``).

It describes a Python flow as written: conditions lowered to ``"name"`` / ``{"and": [...]}`` /
``{"or": [...]}``, a router's labels from ``@router(emit=...)`` or else from a ``Literal`` /
``Enum`` return annotation. It is read-only: CrewAI's declarative flows (``do`` actions,
``from_declaration``, YAML) are not part of it.
"""

from __future__ import annotations

import enum
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ._graph import MARKS, StepMarks
from ._state import _generic_arg

__all__ = [
    "FlowConfigDefinition",
    "FlowDefinition",
    "FlowMethodDefinition",
    "FlowPersistenceDefinition",
    "FlowStateDefinition",
    "build_definition",
    "lower_condition",
]

DefinitionCondition = str | dict[str, list[Any]]
"""A lowered condition: a name, or ``{"and": [...]}`` / ``{"or": [...]}`` of conditions."""


class FlowPersistenceDefinition(BaseModel):
    """What ``@persist`` says (on the class or a method)."""

    enabled: bool = True
    verbose: bool = False


class FlowMethodDefinition(BaseModel):
    """One flow method."""

    description: str | None = None
    start: bool | DefinitionCondition | None = None
    """True for ``@start()``, the condition for ``@start(condition)``, None otherwise."""
    listen: DefinitionCondition | None = None
    router: bool = False
    emit: list[str] | None = None
    """The labels a router may return, when known (declared or annotated)."""
    persist: FlowPersistenceDefinition | None = None

    @property
    def is_start(self) -> bool:
        return bool(self.start)


class FlowStateDefinition(BaseModel):
    """The state: ``"dict"`` or ``"pydantic"`` (``ref`` = ``module:QualName``)."""

    type: Literal["dict", "pydantic"]
    ref: str | None = None
    json_schema: dict[str, Any] | None = None
    default: dict[str, Any] | None = None


class FlowConfigDefinition(BaseModel):
    """The flow's class-level settings."""

    stream: bool = False
    max_method_calls: int = 100
    max_steps: int = 1000


class FlowDefinition(BaseModel):
    """A Flow class, described."""

    model_config = ConfigDict(populate_by_name=True)

    name: str
    description: str | None = None
    state: FlowStateDefinition | None = None
    config: FlowConfigDefinition = Field(default_factory=FlowConfigDefinition)
    persist: FlowPersistenceDefinition | None = None
    methods: dict[str, FlowMethodDefinition] = Field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The definition as JSON-ready data (unset fields left out)."""
        return self.model_dump(mode="json", exclude_none=True)


def lower_condition(condition: Any) -> DefinitionCondition:
    """A decorator's condition in the definition's form."""
    if isinstance(condition, str):
        return condition
    if isinstance(condition, Mapping):
        kind = str(condition.get("type", "OR")).lower()
        items = condition.get("conditions", condition.get("methods", ()))
        return {kind: [lower_condition(item) for item in items]}
    return str(getattr(condition, "__name__", condition))


def _labels_of(annotation: Any) -> list[str]:
    """The string labels a return annotation admits (Literal, str-valued Enum, unions of
    them, Annotated); containers and anything else: none."""
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [m.value for m in annotation if isinstance(m.value, str)]
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return [a for a in typing.get_args(annotation) if isinstance(a, str)]
    if origin is typing.Annotated:
        return _labels_of(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        return [label for arg in typing.get_args(annotation) for label in _labels_of(arg)]
    return []


def _annotated_labels(func: Callable[..., Any]) -> list[str] | None:
    try:
        annotation = typing.get_type_hints(func, include_extras=True).get("return")
    except Exception:  # an unresolvable forward reference: no labels
        return None
    labels = list(dict.fromkeys(_labels_of(annotation)))
    return labels or None


def _persist_of(target: Any, mark: str) -> FlowPersistenceDefinition | None:
    spec = getattr(target, mark, None)
    if spec is None:
        return None
    return FlowPersistenceDefinition(verbose=bool(spec.verbose))


def _state_definition(cls: type, base: type) -> FlowStateDefinition | None:
    source = getattr(cls, "initial_state", None)
    if source is None:
        source = _generic_arg(cls, base)
    if source is None:
        return None
    if source is dict or typing.get_origin(source) is dict:
        return FlowStateDefinition(type="dict")
    if isinstance(source, Mapping):
        return FlowStateDefinition(type="dict", default=dict(source) or None)
    model = source if isinstance(source, type) else type(source)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return None
    default = source.model_dump(mode="json") if isinstance(source, BaseModel) else None
    return FlowStateDefinition(
        type="pydantic",
        ref=f"{model.__module__}:{model.__qualname__}",
        json_schema=model.model_json_schema(),
        default=default,
    )


def build_definition(cls: type, base: type) -> FlowDefinition:
    """The definition of Flow class ``cls`` (``base``: :class:`Flow` itself)."""
    from .persistence.decorators import CLASS_MARK, METHOD_MARK

    methods: dict[str, FlowMethodDefinition] = {}
    for name, step in cls._fastcrew_graph.steps.items():  # type: ignore[attr-defined]
        marks: StepMarks = getattr(step.func, MARKS)
        condition = None if marks.condition is None else lower_condition(marks.condition)
        emit = None
        if marks.router:
            emit = list(marks.emit) if marks.emit is not None else _annotated_labels(step.func)
        doc = inspect.getdoc(step.func)
        methods[name] = FlowMethodDefinition(
            description=doc.strip() if doc else None,
            start=(condition if condition is not None else True) if marks.start else None,
            listen=None if marks.start else condition,
            router=marks.router,
            emit=emit,
            persist=_persist_of(step.func, METHOD_MARK),
        )
    doc = cls.__doc__
    return FlowDefinition(
        name=cls.__name__,
        description=doc.strip() if doc else None,
        state=_state_definition(cls, base),
        config=FlowConfigDefinition(
            stream=bool(getattr(cls, "stream", False)),
            max_method_calls=int(getattr(cls, "max_method_calls", 100)),
            max_steps=int(getattr(cls, "max_steps", 1000)),
        ),
        persist=_persist_of(cls, CLASS_MARK),
        methods=methods,
    )
