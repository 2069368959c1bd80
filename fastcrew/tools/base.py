"""``BaseTool`` (subclass it, as in CrewAI) and ``Tool`` (what ``@tool`` makes from a function).

A tool is a pydantic model: ``name``, ``description``, ``args_schema`` (derived from
``_run``'s — else ``_arun``'s — signature when not given), ``result_as_answer``,
``cache_function``, ``max_usage_count`` / ``current_usage_count``. Implement ``_run`` (sync,
run in the runtime's thread pool by the agent loop) and/or ``async _arun`` (awaited on the
run's own loop; preferred when both exist).

``description`` stays what you wrote (as in CrewAI 1.15): ``formatted_description``, the
ReAct rendering (:meth:`BaseTool.react_description`) and the OpenAI spec
(:meth:`BaseTool.openai_spec`) are built from it on demand. ``result_schema`` (explicit, or a
pydantic return annotation) makes the agent read the result as that model's JSON
(:mod:`.results`); ``to_structured_tool()`` gives CrewAI's ``CrewStructuredTool``.
"""

from __future__ import annotations

import inspect
import json
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from ..errors import ToolDefinitionError
from ..process_runtime import get_runtime
from .invoke import result_text
from .results import format_result, infer_result_schema, prebaked_description
from .schema import openai_name, parameters_schema, react_block, signature_model

if TYPE_CHECKING:
    from .invoke import ToolResult, ToolRunState
    from .structured_tool import CrewStructuredTool

__all__ = ["BaseTool", "Tool", "tools_by_wire_name"]


def _always_cache(_arguments: Any = None, _result: Any = None) -> bool:
    """The default ``cache_function``: every successful result may be cached."""
    return True


class _NoSchema(BaseModel):
    """Placeholder: ``args_schema`` not given, derive it from the signature."""


_SCHEMAS: weakref.WeakKeyDictionary[type[BaseModel], dict[str, Any]] = weakref.WeakKeyDictionary()
"""OpenAI ``parameters`` by argument model (shared: never mutated)."""


class BaseTool(BaseModel):
    """A tool an agent can call. Subclass it and implement ``_run`` and/or ``async _arun``.

    Per-call entry point for the agent loop: :meth:`ainvoke`. Direct calls: :meth:`run`
    (sync) and :meth:`arun` (async) — they validate keyword arguments and raise on bad ones.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str = Field(description="The tool's name, as the model sees it.")
    description: str = Field(description="What the tool does and when to use it.")
    args_schema: type[BaseModel] = Field(default=_NoSchema, validate_default=True)
    result_as_answer: bool = False
    """When True, a successful result ends the task: it becomes the agent's final answer."""
    cache_function: Callable[..., Any] = Field(default=_always_cache, exclude=True)
    """``(arguments, result) -> bool``: whether this result may be cached for the run."""
    max_usage_count: int | None = None
    """Successful-or-not executions allowed (per run in the agent loop; see docs/tools.md)."""
    current_usage_count: int = 0
    """Executions of this tool object over its lifetime (every run and direct call)."""
    env_vars: list[Any] = Field(default_factory=list)
    """CrewAI's documentation of the environment variables a tool needs (informational)."""
    result_schema: type[BaseModel] | None = None
    """What the tool returns (a pydantic model); when not given, the return annotation of
    ``_run`` (else ``_arun``) or of the ``@tool`` function, if that is a pydantic model."""

    _usage_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _spec_key: tuple[Any, ...] | None = PrivateAttr(default=None)
    _spec: dict[str, Any] | None = PrivateAttr(default=None)
    _derived: ClassVar[weakref.WeakKeyDictionary[type, type[BaseModel]]] = (
        weakref.WeakKeyDictionary()
    )

    @field_validator("max_usage_count")
    @classmethod
    def _positive_usage(cls, value: int | None) -> int | None:
        if value is not None and value <= 0:
            raise ValueError("max_usage_count must be a positive integer (or None: unlimited)")
        return value

    def __init__(self, /, **data: Any) -> None:
        super().__init__(**data)
        # Checked here, not in a validator, so the error is ours rather than a ValidationError.
        if not self._implemented():
            raise ToolDefinitionError(
                f"{type(self).__name__} ({self.name!r}) implements neither _run nor _arun: "
                "define `def _run(self, ...)` or `async def _arun(self, ...)`.",
                tool=self.name,
            )
        if self.args_schema is _NoSchema:
            self.args_schema = self._derive_schema()
        if self.result_schema is None:
            self.result_schema = infer_result_schema(self._schema_source()[0])

    # -- implementation ---------------------------------------------------------------------

    def _implemented(self) -> bool:
        cls = type(self)
        return cls._run is not BaseTool._run or cls._arun is not BaseTool._arun

    def _schema_source(self) -> tuple[Callable[..., Any], bool]:
        """The callable whose signature is the schema, and whether to skip ``self``."""
        cls = type(self)
        return (cls._run if cls._run is not BaseTool._run else cls._arun), True

    def _derive_schema(self) -> type[BaseModel]:
        cls = type(self)
        cached = BaseTool._derived.get(cls)
        if cached is None:
            fn, skip_first = self._schema_source()
            cached = signature_model(
                fn, f"{cls.__name__}Schema", tool=self.name, skip_first=skip_first
            )
            BaseTool._derived[cls] = cached
        return cached

    @property
    def is_async(self) -> bool:
        """Whether calls await ``_arun`` on the caller's loop (else ``_run`` runs in a thread)."""
        return type(self)._arun is not BaseTool._arun

    def _run(self, *args: Any, **kwargs: Any) -> Any:
        """The sync implementation (override this and/or :meth:`_arun`)."""
        raise NotImplementedError(f"{type(self).__name__} has no sync _run; call arun()")

    async def _arun(self, *args: Any, **kwargs: Any) -> Any:
        """The async implementation (override this and/or :meth:`_run`)."""
        raise NotImplementedError(f"{type(self).__name__} has no async _arun")

    async def _execute(self, values: Mapping[str, Any]) -> Any:
        """Run the implementation with validated ``values``: async on this loop, sync in the
        runtime's thread pool (``Runtime.run_in_thread``)."""
        if self.is_async:
            result = await self._arun(**values)
        else:
            result = await get_runtime().run_in_thread(self._run, **values)
        if inspect.isawaitable(result):  # a sync _run that returned a coroutine
            result = await result
        return result

    def observation(self, value: Any) -> str:
        """A successful result as the text the model reads: :meth:`format_output_for_agent`
        when the tool has a ``result_schema`` or overrides it, else
        :func:`~.invoke.result_text` (JSON for dicts and lists)."""
        if (
            self.result_schema is not None
            or type(self).format_output_for_agent is not BaseTool.format_output_for_agent
        ):
            return self.format_output_for_agent(value)
        return result_text(value)

    def format_output_for_agent(self, raw_result: Any) -> str:
        """CrewAI's hook: ``raw_result`` as the agent's text — with a ``result_schema``, the
        validated model as JSON (a ``RuntimeWarning`` and ``str()`` when it does not fit);
        without one, ``str(raw_result)``. Override it to format results yourself."""
        if self.result_schema is None:
            return str(raw_result)
        return format_result(self.name, self.result_schema, raw_result)

    # -- usage ------------------------------------------------------------------------------

    def usage_limit_message(self) -> str:
        """The observation when ``max_usage_count`` is used up (CrewAI's wording)."""
        return (
            f"Tool '{self.name}' has reached its usage limit of {self.max_usage_count} times "
            "and cannot be used anymore."
        )

    def _claim_usage(self) -> str | None:
        """Count one lifetime use; the limit message instead when it is used up."""
        with self._usage_lock:
            limit = self.max_usage_count
            if limit is not None and self.current_usage_count >= limit:
                return self.usage_limit_message()
            self.current_usage_count += 1
            return None

    def _count_usage(self) -> None:
        with self._usage_lock:
            self.current_usage_count += 1

    def reset_usage_count(self) -> None:
        """Set :attr:`current_usage_count` back to 0."""
        with self._usage_lock:
            self.current_usage_count = 0

    # -- calls ------------------------------------------------------------------------------

    async def ainvoke(
        self,
        arguments: Mapping[str, Any] | str | None = None,
        *,
        state: ToolRunState | None = None,
        cache: bool | None = None,
    ) -> ToolResult:
        """One call from the agent loop; never raises for the model's mistakes or the tool's.

        ``arguments`` are the model's (a JSON object text or a mapping); ``state`` is the
        run's cache and counters (None: no cache, lifetime usage limit); ``cache`` overrides
        ``state.cache`` for this call (the calling agent's ``cache`` setting).
        """
        from .invoke import invoke

        return await invoke(self, arguments, state, cache)

    def run(self, *args: Any, **kwargs: Any) -> Any:
        """Call the tool directly and synchronously (CrewAI's ``run``); returns the result as
        the tool produced it.

        Keyword arguments are validated (a ``ValueError`` saying "arguments validation
        failed" on bad ones, before any use is counted; unknown ones dropped); positional ones
        go through as they are. ``_run`` is used when defined (as in CrewAI); an async-only
        tool runs on the runtime's home loop, so this must not be called inside a running
        event loop.
        """
        if not args:
            kwargs = self._checked_kwargs(kwargs)
        limit = self._claim_usage()
        if limit is not None:
            return limit
        if type(self)._run is BaseTool._run:
            return get_runtime().run(self._arun(*args, **kwargs), api="run", async_api="arun")
        result = self._run(*args, **kwargs)
        if inspect.iscoroutine(result):
            result = get_runtime().run(result, api="run", async_api="arun")
        return result

    async def arun(self, *args: Any, **kwargs: Any) -> Any:
        """Call the tool directly from async code (a sync tool runs in the thread pool;
        CrewAI raises ``NotImplementedError`` for it). Validation as in :meth:`run`."""
        if not args:
            kwargs = self._checked_kwargs(kwargs)
        limit = self._claim_usage()
        if limit is not None:
            return limit
        if args:
            if self.is_async:
                return await self._arun(*args, **kwargs)
            return await get_runtime().run_in_thread(self._run, *args, **kwargs)
        return await self._execute(kwargs)

    def _checked_kwargs(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """:meth:`validate_arguments` for direct calls: CrewAI's ``ValueError`` message."""
        try:
            return self.validate_arguments(arguments)
        except ValueError as exc:
            schema = self.parameters()
            raise ValueError(
                f"Tool {self.name!r} arguments validation failed: {exc}\n"
                f"Expected arguments: {json.dumps(schema.get('properties', {}))}\n"
                f"Required: {json.dumps(schema.get('required', []))}"
            ) from exc

    def validate_arguments(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """``arguments`` checked against ``args_schema``: the parameters to call with (unknown
        keys dropped, defaults filled, values converted); raises ``ValidationError``."""
        return self._validate(dict(arguments))[0]

    def _validate(self, arguments: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        """``(values to call with, what the cache key is made of)``; raises a ``ValueError``
        (pydantic's ``ValidationError`` here) naming what is wrong."""
        model = self.args_schema.model_validate(arguments)
        return {name: getattr(model, name) for name in type(model).model_fields}, model

    # -- how the model sees it --------------------------------------------------------------

    @property
    def wire_name(self) -> str:
        """The OpenAI function name of this tool (:func:`~fastcrew.tools.openai_name`)."""
        return openai_name(self.name)

    def parameters(self) -> dict[str, Any]:
        """The JSON schema of the arguments, cleaned for OpenAI (shared: do not mutate)."""
        return self.openai_spec()["function"]["parameters"]

    def openai_spec(self) -> dict[str, Any]:
        """``{"type": "function", "function": {name, description, parameters}}`` for the
        request's ``tools`` (computed once per name/description/schema; do not mutate)."""
        key = (self.name, self.description, self._schema_identity())
        if self._spec is None or self._spec_key != key:
            self._spec = {
                "type": "function",
                "function": {
                    "name": openai_name(self.name),
                    "description": self.description,
                    "parameters": self._parameters_schema(),
                },
            }
            self._spec_key = key
        return self._spec

    def _schema_identity(self) -> Any:
        """What :meth:`_parameters_schema` is computed from (the spec is remade when it
        changes)."""
        return self.args_schema

    def _parameters_schema(self) -> dict[str, Any]:
        schema = _SCHEMAS.get(self.args_schema)  # one per model class: tools made per task
        if schema is None:
            schema = _SCHEMAS[self.args_schema] = parameters_schema(self.args_schema)
        return schema

    @property
    def formatted_description(self) -> str:
        """CrewAI's ``Tool Name:`` / ``Tool Arguments:`` / ``Tool Description:`` block: the
        function name, the argument schema as indented JSON, the authored ``description``
        (a description that already is such a block is not wrapped twice)."""
        return (
            f"Tool Name: {self.wire_name}\n"
            f"Tool Arguments: {json.dumps(self.parameters(), indent=2)}\n"
            f"Tool Description: {prebaked_description(self.description)}"
        )

    def to_structured_tool(self) -> CrewStructuredTool:
        """This tool as a :class:`~fastcrew.tools.structured_tool.CrewStructuredTool`
        (CrewAI's); its uses count on this tool too."""
        from .structured_tool import CrewStructuredTool

        return CrewStructuredTool.of(self)

    @classmethod
    def from_langchain(cls, tool: Any) -> BaseTool:
        """A LangChain tool as a fastcrew tool (CrewAI's ``BaseTool.from_langchain``; agents
        also take LangChain tools as they are)."""
        from .adapters import adapt_tool

        return adapt_tool(tool, "BaseTool.from_langchain")

    def react_description(self) -> str:
        """The ``Tool Name:`` / ``Tool Arguments:`` / ``Tool Description:`` block of a
        ReAct prompt."""
        return react_block(self.name, self.parameters(), self.description)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class Tool(BaseTool):
    """A tool made from a function (what ``@tool`` returns); ``func`` is the function."""

    func: Callable[..., Any] = Field(exclude=True)

    def _implemented(self) -> bool:
        return callable(self.func)

    def _derive_schema(self) -> type[BaseModel]:
        return signature_model(self.func, f"{openai_name(self.name)}_input", tool=self.name)

    def _schema_source(self) -> tuple[Callable[..., Any], bool]:
        return self.func, False

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.func)

    def _run(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    async def _arun(self, *args: Any, **kwargs: Any) -> Any:
        result = self.func(*args, **kwargs)
        return await result if inspect.isawaitable(result) else result


def tools_by_wire_name(tools: Iterable[BaseTool]) -> dict[str, BaseTool]:
    """``{wire_name: tool}`` for one request's tools, to map ``tool_calls`` names back.

    Raises :class:`~fastcrew.errors.ToolDefinitionError` when two different tools share a
    wire name (``"My tool"`` and ``"my_tool"``): the model could not tell them apart.
    """
    found: dict[str, BaseTool] = {}
    for one in tools:
        wire = one.wire_name
        other = found.setdefault(wire, one)
        if other is not one:
            raise ToolDefinitionError(
                f"Tools {other.name!r} and {one.name!r} have the same function name {wire!r} "
                "for the model; rename one of them.",
                tool=one.name,
            )
    return found
