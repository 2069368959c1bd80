"""A CrewAI tool object (``crewai.tools.BaseTool``: every ``crewai_tools`` tool, a user's
subclass, CrewAI's ``@tool`` functions, the tools of an ``MCPServerAdapter``) as a fastcrew
tool, through its public surface only: ``name``, ``description``, ``args_schema``,
``_run`` / ``_arun`` (or ``func`` for ``@tool``), ``result_as_answer``, ``max_usage_count``,
``cache_function``, ``current_usage_count`` and ``format_output_for_agent``.

``crewai`` itself is never imported here: the object's class tells what it is.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr

from ...process_runtime import get_runtime
from ..base import BaseTool
from .source import ForeignTool, base_class

__all__ = ["CrewAITool"]


class CrewAITool(ForeignTool, BaseTool):
    """A CrewAI tool object, called the way fastcrew calls its own tools.

    - Arguments are validated with the tool's ``args_schema`` and passed as CrewAI passes
      them (``model_dump()``: nested models as dicts); a schema without fields passes the
      model's arguments through unchecked, as CrewAI does.
    - A tool with an async implementation (an ``async def`` ``@tool`` function, or an
      overridden ``_arun``) is awaited on the run's loop; else ``_run`` runs in the runtime's
      thread pool (a coroutine it returns is awaited on the run's loop).
    - The result becomes text through the tool's own ``format_output_for_agent`` (CrewAI's
      observation), so ``result_schema`` tools read as they do in CrewAI.
    - Uses count on the adapter (per run in agent runs) and on the CrewAI object.
    """

    source: Any = Field(exclude=True)
    _async: Callable[..., Any] | None = PrivateAttr(default=None)
    _sync: Callable[..., Any] | None = PrivateAttr(default=None)

    @classmethod
    def adapt(cls, source: Any) -> CrewAITool:
        """The adapter of one CrewAI tool object."""
        schema = getattr(source, "args_schema", None)
        made = cls(
            name=str(source.name),
            description=str(source.description or ""),
            args_schema=schema if _is_model_class(schema) else _NoArguments,
            result_as_answer=bool(getattr(source, "result_as_answer", False)),
            max_usage_count=getattr(source, "max_usage_count", None),
            cache_function=_forward_cache_function(source),
            env_vars=list(getattr(source, "env_vars", None) or []),
            source=source,
        )
        made._async, made._sync = _implementations(source)
        return made

    def _implemented(self) -> bool:
        return True

    @property
    def is_async(self) -> bool:
        return self._async is not None

    def _validate(self, arguments: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        if not self.args_schema.model_fields:
            return arguments, arguments
        model = self.args_schema.model_validate(arguments)
        return model.model_dump(), model

    async def _execute(self, values: Any) -> Any:
        if self._async is not None:
            result = await self._async(**values)
        else:
            assert self._sync is not None
            result = await get_runtime().run_in_thread(self._sync, **values)
        if inspect.isawaitable(result):
            result = await result
        return result

    def _run(self, *args: Any, **kwargs: Any) -> Any:
        assert self._sync is not None
        return self._sync(*args, **kwargs)

    async def _arun(self, *args: Any, **kwargs: Any) -> Any:
        assert self._async is not None
        return await self._async(*args, **kwargs)

    def observation(self, value: Any) -> str:
        formatter = getattr(self.source, "format_output_for_agent", None)
        if callable(formatter):
            return str(formatter(value))
        return super().observation(value)

    def _count_usage(self) -> None:
        super()._count_usage()
        self._mirror_usage()

    def _claim_usage(self) -> str | None:
        refused = super()._claim_usage()
        if refused is None:
            self._mirror_usage()
        return refused

    def _mirror_usage(self) -> None:
        count = getattr(self.source, "current_usage_count", None)
        if isinstance(count, int):
            self.source.current_usage_count = count + 1


class _NoArguments(BaseModel):
    """A CrewAI tool without an ``args_schema``."""


def _is_model_class(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _forward_cache_function(source: Any) -> Callable[[Any, Any], Any]:
    """Reads the CrewAI object's ``cache_function`` at each call (users set it after
    construction, as CrewAI's docs show)."""

    def cache_function(arguments: Any = None, result: Any = None) -> Any:
        check = getattr(source, "cache_function", None)
        return True if check is None else check(arguments, result)

    return cache_function


def _implementations(source: Any) -> tuple[Callable[..., Any] | None, Callable[..., Any] | None]:
    """(async implementation or None, sync implementation or None) of a CrewAI tool."""
    func = getattr(source, "func", None)
    if callable(func):  # CrewAI's @tool (crewai.tools.base_tool.Tool)
        return (func, None) if inspect.iscoroutinefunction(func) else (None, func)
    base = base_class(source, "crewai")
    cls = type(source)
    overridden = base is not None and getattr(cls, "_arun", None) is not base.__dict__.get("_arun")
    return (source._arun if overridden else None), getattr(source, "_run", None)
