"""``@tool``: a function (``def`` or ``async def``) as a tool, as in CrewAI.

::

    @tool
    def word_count(text: str) -> int:
        '''Count the words in a text.'''
        return len(text.split())

    @tool("Weather lookup", result_as_answer=False, max_usage_count=3)
    async def weather(city: str, unit: Literal["C", "F"] = "C") -> str:
        '''Current weather of a city.'''
        ...

The name is the given one, else the function's name; the description is the docstring
(required — CrewAI's error without one); the argument schema comes from the signature and its
type hints (defaults make arguments optional; ``Annotated[str, Field(description=...)]``
describes one).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, overload

from pydantic import BaseModel

from ..errors import ToolDefinitionError
from .base import Tool

__all__ = ["tool"]


@overload
def tool(func: Callable[..., Any], /) -> Tool: ...


@overload
def tool(
    name: str,
    /,
    *,
    result_as_answer: bool = ...,
    max_usage_count: int | None = ...,
    result_schema: type[BaseModel] | None = ...,
) -> Callable[[Callable[..., Any]], Tool]: ...


@overload
def tool(
    *,
    result_as_answer: bool = ...,
    max_usage_count: int | None = ...,
    result_schema: type[BaseModel] | None = ...,
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    *args: Callable[..., Any] | str,
    result_as_answer: bool = False,
    max_usage_count: int | None = None,
    result_schema: type[BaseModel] | None = None,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a :class:`~fastcrew.tools.Tool` from a function: ``@tool``, ``@tool("Name")``,
    ``@tool(result_as_answer=True)``, ``@tool("Name", max_usage_count=3)``,
    ``@tool("Name", result_schema=Model)`` (else a pydantic return annotation is used)."""

    def make(name: str | None) -> Callable[[Callable[..., Any]], Tool]:
        def wrap(fn: Callable[..., Any]) -> Tool:
            if not callable(fn):
                raise ToolDefinitionError(
                    f"@tool decorates a function, got {type(fn).__name__}", tool=name
                )
            tool_name = name or fn.__name__
            doc = inspect.getdoc(fn)
            if not doc:
                raise ToolDefinitionError(
                    f"Function must have a docstring: @tool {fn.__qualname__!r} needs one — it "
                    "is the tool's description, which tells the model when to use it.",
                    tool=tool_name,
                )
            return Tool(
                name=tool_name,
                description=doc,
                func=fn,
                result_as_answer=result_as_answer,
                max_usage_count=max_usage_count,
                result_schema=result_schema,
            )

        return wrap

    if len(args) == 1 and callable(args[0]) and not isinstance(args[0], str):
        return make(None)(args[0])
    if len(args) == 1 and isinstance(args[0], str):
        return make(args[0])
    if not args:
        return make(None)
    raise ToolDefinitionError(
        "Use @tool, @tool('Name') or @tool('Name', result_as_answer=..., max_usage_count=...)"
    )
