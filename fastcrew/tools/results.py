"""A tool's result as the text an agent reads, and CrewAI's ``result_schema``.

A tool may declare what it returns: ``result_schema`` (a pydantic model, ``RootModel``
included), given explicitly or read from the return annotation of ``_run`` / the ``@tool``
function when that is a pydantic model. With a schema, the agent reads the result validated
against it as JSON; a result that does not fit gives a ``RuntimeWarning`` and ``str(result)``,
as in CrewAI. Without one, :func:`~fastcrew.tools.invoke.result_text` makes the text.
"""

from __future__ import annotations

import inspect
import typing
import warnings
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

__all__ = ["DESCRIPTION_BLOCK", "format_result", "infer_result_schema", "prebaked_description"]

DESCRIPTION_BLOCK = ("Tool Name: ", "\nTool Arguments: ", "\nTool Description: ")
"""The three markers of a tool's ReAct description block."""


def infer_result_schema(fn: Callable[..., Any]) -> type[BaseModel] | None:
    """The pydantic model ``fn`` is annotated to return, else None (a dict is no schema)."""
    try:
        hint = typing.get_type_hints(fn).get("return")
    except Exception:  # an unresolvable string annotation: no schema
        hint = inspect.signature(fn).return_annotation
    if isinstance(hint, type) and issubclass(hint, BaseModel):
        return hint
    return None


def format_result(tool_name: str, schema: type[BaseModel], raw: Any) -> str:
    """``raw`` validated against ``schema`` as JSON; on failure a ``RuntimeWarning`` (naming
    the schema and the error's type, never the value) and ``str(raw)``."""
    try:
        model = raw if isinstance(raw, schema) else schema.model_validate(raw)
        return model.model_dump_json()
    except Exception as exc:
        warnings.warn(
            f"Failed to validate or serialize the result of tool {tool_name!r} as "
            f"{schema.__name__} ({type(exc).__name__}); the agent reads str(result) instead.",
            RuntimeWarning,
            stacklevel=3,
        )
        return str(raw)


def prebaked_description(description: str) -> str:
    """The authored text of a description that already is a whole ``Tool Name:`` /
    ``Tool Arguments:`` / ``Tool Description:`` block (else ``description`` itself)."""
    name, arguments, text = DESCRIPTION_BLOCK
    if not description.startswith(name):
        return description
    first_line_end = description.find("\n")
    if first_line_end < 0 or not description.startswith(arguments, first_line_end):
        return description
    at = description.find(text, first_line_end + len(arguments))
    return description if at < 0 else description[at + len(text) :]
