"""Argument schemas and how a tool is shown to a model.

- :func:`signature_model` — the pydantic model of a function's parameters (type hints
  resolved, ``from __future__ import annotations`` included; ``*args`` / ``**kwargs`` left
  out; a parameter without a hint takes any value).
- :func:`parameters_schema` — the JSON schema of an argument model, cleaned for OpenAI
  function parameters: no ``title`` keywords, every object model closed with
  ``additionalProperties: false``, ``$defs`` kept for nested models;
  :func:`parameters_from_json_schema` — the same for a foreign tool's JSON schema.
- :func:`openai_name` — a tool name as an OpenAI function name (``^[a-zA-Z0-9_-]{1,64}$``):
  lower case, runs of other characters as one ``_`` (CrewAI's convention,
  ``"Delegate work to coworker"`` → ``"delegate_work_to_coworker"``), a long name cut with a
  hash suffix so two long names stay distinct.
- :func:`react_block` — the ``Tool Name:`` / ``Tool Arguments:`` / ``Tool Description:`` text
  of a ReAct prompt (the convention ``fastcrew sim`` parses, docs/simulator.md).
"""

from __future__ import annotations

import hashlib
import inspect
import re
import types
import typing
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    PydanticSchemaGenerationError,
    PydanticUserError,
    create_model,
)

from .._json import dumps
from ..errors import ToolDefinitionError

__all__ = [
    "openai_name",
    "parameters_from_json_schema",
    "parameters_schema",
    "react_block",
    "signature_model",
]

OPENAI_NAME_MAX = 64
_NOT_NAME = re.compile(r"[^a-z0-9_-]+")
_SKIP_KINDS = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def signature_model(
    fn: Callable[..., Any], model_name: str, *, tool: str, skip_first: bool = False
) -> type[BaseModel]:
    """The pydantic model of ``fn``'s parameters (``skip_first``: a method's ``self``)."""
    hints = _parameter_hints(fn, tool)
    fields: dict[str, Any] = {}
    params = list(inspect.signature(fn).parameters.values())
    for param in params[1:] if skip_first else params:
        if param.kind in _SKIP_KINDS:
            continue
        hint = hints.get(param.name, Any)
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[param.name] = (hint, default)
    try:
        model = create_model(
            model_name, __config__=ConfigDict(arbitrary_types_allowed=False), **fields
        )
        model.model_json_schema()
    except (
        PydanticSchemaGenerationError,
        PydanticUserError,
        TypeError,
        ValueError,
        NameError,
    ) as exc:
        raise ToolDefinitionError(
            f"Tool {tool!r}: the parameters of {fn.__qualname__} cannot be described as a "
            f"JSON schema ({str(exc).splitlines()[0]}). Use JSON-like types (str, int, float, "
            "bool, list, dict, Literal, pydantic models) or give the tool an args_schema.",
            tool=tool,
        ) from exc
    return model


def _parameter_hints(fn: Callable[..., Any], tool: str) -> dict[str, Any]:
    """``fn``'s parameter type hints, resolved (the return hint is not needed: it may name a
    type that only exists inside a function, as tests often write)."""
    try:
        return typing.get_type_hints(fn, include_extras=True)
    except Exception:
        pass
    target = inspect.unwrap(fn)
    namespace = getattr(target, "__globals__", {})
    hints: dict[str, Any] = {}
    for name, hint in getattr(target, "__annotations__", {}).items():
        if name == "return":
            continue
        try:
            one = types.SimpleNamespace(__annotations__={name: hint})
            hints[name] = typing.get_type_hints(one, globalns=namespace, include_extras=True)[name]
        except Exception as exc:
            raise ToolDefinitionError(
                f"Tool {tool!r}: cannot resolve the type hint {hint!r} of parameter {name!r} "
                f"of {fn.__qualname__} ({exc}). Define or import that type at module level.",
                tool=tool,
            ) from exc
    return hints


def parameters_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON schema as OpenAI function ``parameters`` (a fresh dict)."""
    schema = _clean(model.model_json_schema())
    schema.setdefault("type", "object")
    schema.setdefault("properties", {})
    return schema


def parameters_from_json_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A foreign tool's JSON schema (an MCP ``inputSchema``, a LangChain dict) as OpenAI
    function ``parameters``, cleaned as :func:`parameters_schema` cleans a model's."""
    out = _clean({k: v for k, v in schema.items() if k != "$schema"})
    out.setdefault("type", "object")
    out.setdefault("properties", {})
    return out


def _clean(node: Any) -> Any:
    """Drop ``title`` keywords (not property names) and close object models."""
    if isinstance(node, list):
        return [_clean(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title" and isinstance(value, str):
            continue
        if key in ("properties", "$defs", "definitions", "patternProperties"):
            out[key] = {name: _clean(sub) for name, sub in value.items()}
        else:
            out[key] = _clean(value)
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def openai_name(name: str) -> str:
    """``name`` as an OpenAI function name (stable: the same name always maps the same)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    wire = _NOT_NAME.sub("_", ascii_name.lower()).strip("_")
    if wire and len(wire) <= OPENAI_NAME_MAX:
        return wire
    digest = hashlib.blake2b(name.encode(), digest_size=4).hexdigest()
    if not wire:
        return f"tool_{digest}"
    return f"{wire[: OPENAI_NAME_MAX - 9].rstrip('_')}_{digest}"


def react_block(name: str, parameters: dict[str, Any], description: str) -> str:
    """One tool as a ReAct prompt lists it (arguments as one line of JSON schema)."""
    return (
        f"Tool Name: {name}\n"
        f"Tool Arguments: {dumps(parameters).decode()}\n"
        f"Tool Description: {description}"
    )
