"""``CrewStructuredTool``: CrewAI's function tool with ``invoke`` / ``ainvoke``.

What ``BaseTool.to_structured_tool()`` returns and ``CrewStructuredTool.from_function(...)``
makes. It is a fastcrew :class:`~fastcrew.tools.base.Tool`, so agents take it as it is.
``invoke(input)`` / ``await ainvoke(input)`` take a dict or a JSON object text, validate it
against ``args_schema``, count one use (``ToolUsageLimitExceededError`` once
``max_usage_count`` is used up) and call ``func`` once, returning its result as it is; a tool
made by ``to_structured_tool()`` counts its uses on the original tool too.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, PrivateAttr

from ..errors import ToolDefinitionError
from ..process_runtime import get_runtime
from .base import BaseTool, Tool
from .invoke import parse_arguments

if TYPE_CHECKING:
    from .invoke import ToolRunState

__all__ = ["CrewStructuredTool", "ToolUsageLimitExceededError"]


class ToolUsageLimitExceededError(Exception):
    """``invoke`` / ``ainvoke`` of a structured tool whose ``max_usage_count`` is used up
    (CrewAI's exception; agents get the limit message as an observation instead)."""


class CrewStructuredTool(Tool):
    """A function tool with CrewAI's structured-tool surface (``invoke``, ``ainvoke``,
    ``from_function``); see the module docstring."""

    _original: BaseTool | None = PrivateAttr(default=None)

    @classmethod
    def from_function(
        cls,
        func: Callable[..., Any],
        name: str | None = None,
        description: str | None = None,
        return_direct: bool = False,
        args_schema: type[BaseModel] | None = None,
        infer_schema: bool = True,
        result_schema: type[BaseModel] | None = None,
        **kwargs: Any,
    ) -> CrewStructuredTool:
        """A tool from ``func``: name and description default to the function's name and
        docstring; ``args_schema`` to its signature; ``return_direct`` is
        ``result_as_answer``."""
        text = description or inspect.getdoc(func)
        if not text:
            raise ToolDefinitionError(
                f"Function must have a docstring if no description is given: "
                f"{getattr(func, '__qualname__', func)!r}",
                tool=name,
            )
        data: dict[str, Any] = {
            "name": name or func.__name__,
            "description": text,
            "func": func,
            "result_as_answer": return_direct or kwargs.pop("result_as_answer", False),
            "result_schema": result_schema,
            **kwargs,
        }
        if args_schema is not None:
            data["args_schema"] = args_schema
        elif not infer_schema:
            raise ToolDefinitionError("infer_schema=False needs an args_schema", tool=name)
        return cls(**data)

    @classmethod
    def of(cls, tool: BaseTool) -> CrewStructuredTool:
        """``tool`` as a structured tool (``BaseTool.to_structured_tool()``)."""
        if isinstance(tool, Tool):
            func: Callable[..., Any] = tool.func
        else:
            func = tool._run if type(tool)._run is not BaseTool._run else tool._arun
        made = cls(
            name=tool.name,
            description=tool.description,
            func=func,
            args_schema=tool.args_schema,
            result_schema=tool.result_schema,
            result_as_answer=tool.result_as_answer,
            max_usage_count=tool.max_usage_count,
            current_usage_count=tool.current_usage_count,
            cache_function=tool.cache_function,
        )
        made._original = tool
        return made

    def format_output_for_agent(self, raw_result: Any) -> str:
        """The original tool's formatting when made from one, else :class:`BaseTool`'s."""
        if self._original is not None:
            return self._original.format_output_for_agent(raw_result)
        return super().format_output_for_agent(raw_result)

    def _count_usage(self) -> None:
        super()._count_usage()
        if self._original is not None:
            self._original._count_usage()

    def _claim_usage(self) -> str | None:
        limit = super()._claim_usage()
        if limit is None and self._original is not None:
            self._original._count_usage()
        return limit

    @property
    def args(self) -> dict[str, Any]:
        """The arguments' JSON schema properties (CrewAI's ``args``)."""
        properties: dict[str, Any] = self.args_schema.model_json_schema().get("properties", {})
        return properties

    def has_reached_max_usage_count(self) -> bool:
        """Whether ``max_usage_count`` is used up."""
        limit = self.max_usage_count
        return limit is not None and self.current_usage_count >= limit

    def _use(self) -> None:
        """Count one use for ``invoke`` / ``ainvoke``; raise when the limit is used up."""
        if self._claim_usage() is not None:
            raise ToolUsageLimitExceededError(self.usage_limit_message())

    def _parse_args(self, raw_args: str | Mapping[str, Any]) -> dict[str, Any]:
        """``raw_args`` (a dict or a JSON object text) validated against ``args_schema``;
        a ``ValueError`` when they are not valid."""
        values = parse_arguments(raw_args)
        if isinstance(values, str):
            raise ValueError(f"Tool {self.name!r}: {values}")
        return self.validate_arguments(values)

    def _validate_function_signature(self) -> None:
        """Raise ``ValueError`` when a required parameter of ``func`` is not in the schema."""
        fields = self.args_schema.model_fields
        for param in inspect.signature(self.func).parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            if param.default is param.empty and param.name not in fields:
                raise ValueError(
                    f"Required function parameter {param.name!r} is not in args_schema"
                )

    def invoke(self, input: str | Mapping[str, Any], config: Any = None, **kwargs: Any) -> Any:
        """Validate ``input``, count a use and call ``func`` once (``kwargs`` passed on); its
        result as it is (an ``async def`` function runs on the runtime's home loop). A used-up
        ``max_usage_count`` raises :class:`ToolUsageLimitExceededError`."""
        values = self._parse_args(input)
        self._use()
        result = self.func(**values, **kwargs)
        if inspect.isawaitable(result):
            result = get_runtime().run(_awaited(result), api="invoke", async_api="ainvoke")
        return result

    async def ainvoke(  # type: ignore[override]
        self,
        input: str | Mapping[str, Any] | None = None,
        config: Any = None,
        *,
        state: ToolRunState | None = None,
        cache: bool | None = None,
        **kwargs: Any,
    ) -> Any:
        """CrewAI's ``await tool.ainvoke(input)``: like :meth:`invoke` (a sync ``func`` runs
        in the runtime's thread pool). With ``state`` / ``cache`` it is the agent loop's
        call (:meth:`BaseTool.ainvoke`) and returns a ``ToolResult``."""
        if state is not None or cache is not None:
            return await super().ainvoke(input, state=state, cache=cache)
        values = {**self._parse_args(input or {}), **kwargs}
        self._use()
        if inspect.iscoroutinefunction(self.func):
            return await self.func(**values)
        result = await get_runtime().run_in_thread(self.func, **values)
        return await result if inspect.isawaitable(result) else result


async def _awaited(awaitable: Any) -> Any:
    return await awaitable
