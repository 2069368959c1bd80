"""A LangChain tool (``langchain_core.tools.BaseTool``: ``StructuredTool``, ``Tool``, ``@tool``,
a subclass) as a fastcrew tool.

- The model sees the tool's ``tool_call_schema`` (its arguments without the injected ones);
  a pydantic v2 model is validated as a native tool's ``args_schema``, a JSON-schema dict
  (or a pydantic v1 model's schema) with ``jsonschema``.
- An async tool (a ``coroutine`` given to ``StructuredTool`` / ``Tool``, or a subclass that
  overrides ``_arun``) is called through ``ainvoke`` on the run's loop; any other through
  ``invoke`` in the runtime's thread pool. LangChain validates the input again, runs its
  callbacks and applies ``handle_tool_error`` as it always does.
- ``return_direct=True`` is ``result_as_answer``: a successful result ends the task.

``langchain_core`` is never imported here: the object's class tells what it is.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ...process_runtime import get_runtime
from ..base import BaseTool
from ..json_schema import JsonSchemaTool
from .source import ForeignTool, base_class

__all__ = ["LangChainJsonTool", "LangChainTool", "adapt_langchain"]


class _LangChainCalls(ForeignTool):
    """How a LangChain tool is called (shared by both adapters)."""

    source: Any
    lc_async: bool

    def _implemented(self) -> bool:
        return True

    @property
    def is_async(self) -> bool:
        return self.lc_async

    async def _execute(self, values: Any) -> Any:
        if self.lc_async:
            return await self.source.ainvoke(dict(values))
        return await get_runtime().run_in_thread(self.source.invoke, dict(values))

    def _run(self, *args: Any, **kwargs: Any) -> Any:
        return self.source.invoke(kwargs)

    async def _arun(self, *args: Any, **kwargs: Any) -> Any:
        return await self.source.ainvoke(kwargs)


class LangChainTool(_LangChainCalls, BaseTool):
    """A LangChain tool whose call schema is a pydantic v2 model."""

    source: Any = Field(exclude=True)
    lc_async: bool = Field(default=False, exclude=True)


class LangChainJsonTool(_LangChainCalls, JsonSchemaTool):
    """A LangChain tool whose call schema is a JSON schema (or a pydantic v1 model)."""

    source: Any = Field(exclude=True)
    lc_async: bool = Field(default=False, exclude=True)


def adapt_langchain(source: Any) -> BaseTool:
    """The adapter of one LangChain tool object."""
    common: dict[str, Any] = {
        "name": str(source.name),
        "description": str(getattr(source, "description", "") or ""),
        "result_as_answer": bool(getattr(source, "return_direct", False)),
        "source": source,
        "lc_async": _is_async(source),
    }
    schema = source.tool_call_schema
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return LangChainTool(args_schema=schema, **common)
    if isinstance(schema, dict):
        return LangChainJsonTool(input_schema=schema, **common)
    return LangChainJsonTool(input_schema=schema.schema(), **common)  # a pydantic v1 model


def _is_async(source: Any) -> bool:
    if hasattr(type(source), "coroutine") or "coroutine" in getattr(source, "__dict__", {}):
        return getattr(source, "coroutine", None) is not None  # StructuredTool, Tool
    base = base_class(source, "langchain")
    return base is not None and type(source)._arun is not base.__dict__.get("_arun")
