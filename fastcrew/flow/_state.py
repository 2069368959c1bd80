"""Flow state: unstructured (a dict) or structured (a pydantic model, given an ``id``).

The kind of state is worked out once per Flow class (:func:`state_spec`): from
``initial_state`` if the class sets it, else from ``Flow[Model]``, else a dict. Kickoff inputs
are merged into the state; a structured state is validated, and invalid inputs raise
:class:`~fastcrew.errors.InputError` before any method runs.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import decimal
import enum
import pathlib
import typing
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field, ValidationError, create_model

from ..errors import ConfigurationError, InputError

__all__ = ["FlowState", "StateSpec", "jsonable", "state_spec"]


def _new_id() -> str:
    return str(uuid.uuid4())


class FlowState(BaseModel):
    """A base for structured flow states: just an ``id`` (a UUID string), as in CrewAI."""

    id: str = Field(default_factory=_new_id)


@dataclass(frozen=True, slots=True)
class StateSpec:
    """How to make and update the state of one Flow class."""

    flow_name: str
    model: type[BaseModel] | None
    """None: a dict state."""
    initial: dict[str, Any]
    """Values every new state starts from (``initial_state`` as an instance or a dict)."""
    str_id: bool
    """The model's ``id`` was added by fastcrew (a str): ``inputs["id"]`` is str()-ed."""

    def new(self, values: Mapping[str, Any] | None) -> Any:
        """A fresh state holding ``values``."""
        if self.model is None:
            state: dict[str, Any] = {"id": _new_id()}
            if self.initial:
                state.update(copy.deepcopy(self.initial))
            if values:
                state.update(values)
            return state
        data = {**self.initial, **values} if values else dict(self.initial)
        return self._validate(self.model, data)

    def merge(self, state: Any, values: Mapping[str, Any]) -> Any:
        """``state`` updated with ``values`` (a new model instance for a structured state)."""
        if self.model is None:
            state.update(values)
            return state
        return self._validate(type(state), {**state.model_dump(), **values})

    def _validate(self, model: type[BaseModel], data: dict[str, Any]) -> BaseModel:
        if self.str_id and data.get("id") is not None:
            data["id"] = str(data["id"])
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(state)'}: {err['msg']}"
                for err in exc.errors()
            )
            first = exc.errors()[0]["loc"] if exc.errors() else ()
            raise InputError(
                f"invalid inputs for the state of {self.flow_name} ({model.__name__}): {problems}",
                variable=str(first[0]) if first else None,
                where=f"the state of {self.flow_name}",
            ) from exc

    def to_json(self, state: Any) -> Any:
        """The state as JSON-ready data."""
        if isinstance(state, BaseModel):
            return state.model_dump(mode="json")
        return jsonable(state)


def _with_id(model: type[BaseModel]) -> tuple[type[BaseModel], bool]:
    if "id" in model.model_fields:
        return model, False
    extended = create_model(
        model.__name__,
        __base__=model,
        __module__=model.__module__,
        id=(str, Field(default_factory=_new_id)),
    )
    return extended, True


def _generic_arg(cls: type, base: type) -> Any:
    for klass in cls.__mro__:
        for alias in klass.__dict__.get("__orig_bases__", ()):
            origin = typing.get_origin(alias)
            if isinstance(origin, type) and issubclass(origin, base):
                args = typing.get_args(alias)
                if args and not isinstance(args[0], typing.TypeVar):
                    return args[0]
    return None


def state_spec(cls: type, base: type) -> StateSpec:
    """Work out the state of Flow class ``cls`` (``base`` is :class:`Flow` itself)."""
    name = cls.__name__
    initial = getattr(cls, "initial_state", None)
    source = initial if initial is not None else _generic_arg(cls, base)
    if source is None or source is dict or typing.get_origin(source) is dict:
        return StateSpec(name, None, {}, False)
    if isinstance(source, Mapping):
        return StateSpec(name, None, dict(source), False)
    if isinstance(source, BaseModel):
        model, str_id = _with_id(type(source))
        values = source.model_dump()
        if not model.model_fields["id"].is_required():
            values.pop("id", None)  # every new state gets its own id
        return StateSpec(name, model, values, str_id)
    if isinstance(source, type) and issubclass(source, BaseModel):
        model, str_id = _with_id(source)
        return StateSpec(name, model, {}, str_id)
    raise ConfigurationError(
        f"{name}: the state must be a pydantic model (Flow[Model] or initial_state=Model) "
        f"or a dict, not {source!r}"
    )


def jsonable(value: Any) -> Any:
    """``value`` as JSON-ready data: models dumped, containers walked, the rest ``str()``-ed.

    Crew and agent outputs (anything with ``raw``) become ``{"raw", "json_dict", "pydantic"}``.
    """
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, BaseModel):
        raw = getattr(value, "raw", None)
        if isinstance(raw, str):
            model = getattr(value, "pydantic", None)
            return {
                "raw": raw,
                "json_dict": jsonable(getattr(value, "json_dict", None)),
                "pydantic": model.model_dump(mode="json") if isinstance(model, BaseModel) else None,
            }
        return value.model_dump(mode="json")
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | decimal.Decimal | pathlib.PurePath):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value))
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
