"""One tool call of the agent loop: parse, validate, cache, limit, run, turn into text.

:func:`invoke` (``BaseTool.ainvoke``) never raises for the model's mistakes or the tool's
failures — each becomes the *observation text* the model reads next, so it can retry:

1. ``arguments`` (the model's JSON text, or a mapping) parsed; text that is not one JSON object
   (Python-literal dicts and ```json fences are accepted) → an error observation.
2. validated against ``args_schema`` (pydantic; a JSON schema for MCP and other foreign
   tools, ``json_schema.py``) → on failure an observation naming each bad field and the schema.
3. with a cache (``state`` given, ``state.cache`` or the ``cache`` override true): a result
   for the same tool name and the same *validated* arguments (canonical JSON) is returned
   without running the tool (``from_cache``; no usage counted).
4. ``max_usage_count``: per run with a ``state`` (each run of a shared tool gets the full
   count), else over the tool object's lifetime (CrewAI's). Used up → CrewAI's message.
5. run: ``async _arun`` awaited on this loop, sync ``_run`` in ``Runtime.run_in_thread``.
   An exception becomes ``Error: ...`` text and counts in ``state.tools_errors`` (CrewAI's
   ``Task.tools_errors``). Cancellation (``max_execution_time``) is not caught.
6. the result as text (str as is, pydantic models and JSON-able dicts/lists as JSON, else
   ``str()``), cached when ``cache_function(arguments, result)`` is true.

Errors are not cached; argument and execution errors count in ``tools_errors``, a used-up
limit does not (as in CrewAI).
"""

from __future__ import annotations

import ast
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from .._json import dumps, dumps_canonical, loads

if TYPE_CHECKING:
    from .base import BaseTool

__all__ = ["ToolResult", "ToolRunState", "invoke", "result_text", "strip_fences"]

MAX_ERROR_CHARS = 2000
"""An exception's message is cut to this many characters in the observation."""
_MAX_LITERAL_CHARS = 100_000


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What one call gave back: ``text`` is the observation for the model."""

    text: str
    value: Any = None
    """What the tool returned (None when it did not run successfully)."""
    error: bool = False
    error_kind: str | None = None
    """``"arguments"`` (unparsable or invalid), ``"usage_limit"`` or ``"raised"``."""
    from_cache: bool = False
    as_answer: bool = False
    """The tool has ``result_as_answer=True`` and succeeded: ``text`` is the final answer."""
    arguments: dict[str, Any] | None = field(default=None, repr=False)
    """The parsed arguments (None when they could not be parsed)."""


class ToolRunState:
    """The tool side of one run: its result cache and counters (one event loop, no locks).

    Counters use CrewAI's task field names where it has them: ``tools_errors``,
    ``delegations``, ``used_tools``.
    """

    __slots__ = (
        "_results",
        "_uses",
        "cache",
        "cache_hits",
        "delegations",
        "tools_errors",
        "used_tools",
    )

    def __init__(self, *, cache: bool = True) -> None:
        self.cache = cache
        """Whether calls without their own ``cache`` use the run's cache (the agent loop always
        passes the agent's opt-in, ``fastcrew.runtime.acting.caches``)."""
        self.tools_errors = 0
        """Failed calls: bad arguments, an exception, an unknown tool (the loop counts that)."""
        self.delegations = 0
        """Coworker tool calls (the delegation tools count them)."""
        self.used_tools = 0
        """Calls that produced a result (executed or from the cache)."""
        self.cache_hits = 0
        self._results: dict[tuple[str, bytes], tuple[str, Any]] = {}
        self._uses: dict[int, tuple[BaseTool, int]] = {}

    def uses(self, tool: BaseTool) -> int:
        """How many times ``tool`` ran in this run."""
        entry = self._uses.get(id(tool))
        return entry[1] if entry is not None and entry[0] is tool else 0

    def _claim(self, tool: BaseTool) -> str | None:
        count = self.uses(tool)
        if tool.max_usage_count is not None and count >= tool.max_usage_count:
            return tool.usage_limit_message()
        self._uses[id(tool)] = (tool, count + 1)  # the reference keeps id() unique
        tool._count_usage()
        return None

    def __repr__(self) -> str:
        return (
            f"ToolRunState(cache={self.cache}, used_tools={self.used_tools}, "
            f"tools_errors={self.tools_errors}, cache_hits={self.cache_hits})"
        )


async def invoke(
    tool: BaseTool,
    arguments: Mapping[str, Any] | str | None,
    state: ToolRunState | None,
    cache: bool | None,
) -> ToolResult:
    """Run one call of ``tool`` as described in the module docstring."""
    parsed = parse_arguments(arguments)
    if isinstance(parsed, str):
        return _failed(state, f"Error: {parsed}. {_retry_hint(tool)}", "arguments", None)
    try:
        values, checked = tool._validate(parsed)
    except ValueError as exc:  # pydantic's ValidationError, or a JSON schema's errors
        problems = _problems(exc) if isinstance(exc, ValidationError) else str(exc)
        text = f"Error: invalid arguments for tool '{tool.name}': {problems}."
        return _failed(state, f"{text} {_retry_hint(tool)}", "arguments", parsed)

    key: tuple[str, bytes] | None = None
    if state is not None and (state.cache if cache is None else cache):
        key = (tool.name, _canonical(checked, parsed))
        hit = state._results.get(key)
        if hit is not None:
            state.cache_hits += 1
            state.used_tools += 1
            return ToolResult(
                hit[0], hit[1], from_cache=True, as_answer=tool.result_as_answer, arguments=parsed
            )

    limit = tool._claim_usage() if state is None else state._claim(tool)
    if limit is not None:
        return ToolResult(limit, error=True, error_kind="usage_limit", arguments=parsed)
    try:
        value = await tool._execute(values)
        text = tool.observation(value)
    except Exception as exc:  # the tool's failure is the model's next observation
        message = str(exc)
        if len(message) > MAX_ERROR_CHARS:
            message = f"{message[:MAX_ERROR_CHARS]}… [cut]"
        text = (
            f"Error: tool '{tool.name}' raised {type(exc).__name__}: {message}. You may call "
            "it again with other arguments, or go on without it."
        )
        return _failed(state, text, "raised", parsed)
    if state is not None:
        state.used_tools += 1
        if key is not None and tool.cache_function(parsed, value):
            state._results[key] = (text, value)
    return ToolResult(text, value, as_answer=tool.result_as_answer, arguments=parsed)


def parse_arguments(arguments: Mapping[str, Any] | str | None) -> dict[str, Any] | str:
    """The arguments as a dict, or why they are not one."""
    if arguments is None:
        return {}
    if isinstance(arguments, Mapping):
        return dict(arguments)
    text = strip_fences(str(arguments))
    if not text:
        return {}
    try:
        value = loads(text)
    except ValueError:
        value = _literal(text)
        if value is None:
            return f"the arguments are not valid JSON ({_excerpt(text)})"
    if isinstance(value, str):  # JSON encoded twice
        with contextlib.suppress(ValueError):
            value = loads(value)
    if value is None:
        return {}
    if not isinstance(value, dict):
        return f"the arguments must be one JSON object, not {type(value).__name__}"
    return value


def result_text(value: Any) -> str:
    """A tool's return value as observation text."""
    if isinstance(value, str):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    if isinstance(value, (dict, list, tuple)):
        try:
            return dumps(value).decode()
        except TypeError:
            return str(value)
    return str(value)


def _failed(state: ToolRunState | None, text: str, kind: str, parsed: Any) -> ToolResult:
    if state is not None:
        state.tools_errors += 1
    return ToolResult(text, error=True, error_kind=kind, arguments=parsed)


def _retry_hint(tool: BaseTool) -> str:
    schema = dumps(tool.parameters()).decode()
    return f"Call '{tool.name}' again with one JSON object matching this schema: {schema}"


def _problems(exc: ValidationError) -> str:
    shown = []
    for err in exc.errors(include_url=False)[:5]:
        where = ".".join(str(part) for part in err.get("loc", ())) or "(arguments)"
        shown.append(f"{where}: {err.get('msg', 'invalid')}")
    more = exc.error_count() - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


def _canonical(checked: Any, parsed: dict[str, Any]) -> bytes:
    try:
        if isinstance(checked, BaseModel):
            return dumps_canonical(checked.model_dump(mode="json"))
        return dumps_canonical(checked)
    except (TypeError, ValueError):  # a value pydantic cannot put in JSON: the raw arguments
        return dumps_canonical(parsed)


def strip_fences(text: str) -> str:
    """``text`` without surrounding whitespace and a Markdown code fence (```json ... ```)."""
    text = text.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rstrip().removesuffix("```")
    return text.strip()


def _literal(text: str) -> Any:
    """A Python-literal mapping (``{'a': 1}``), as models sometimes write; else None."""
    if len(text) > _MAX_LITERAL_CHARS or not text.startswith("{"):
        return None
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        return None
    return value if isinstance(value, dict) else None


def _excerpt(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else f"{text[:limit]}…"
