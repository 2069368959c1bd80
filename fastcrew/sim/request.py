"""Parse and validate a chat-completions request body into a ``ChatRequest``.

Every problem becomes a ``BadRequest`` whose message names the offending field, so the
server can answer 400 in OpenAI's error format. Unknown fields are ignored, as OpenAI does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from .._json import JSONDecodeError, loads

__all__ = [
    "ROLES",
    "BadRequest",
    "ChatRequest",
    "ToolChoice",
    "ToolSpec",
    "message_text",
    "parse_chat_request",
]

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
_NULL_CONTENT_ROLES = frozenset({"assistant", "tool", "function"})
FormatKind = Literal["text", "json_object", "json_schema"]
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_CHOICES = ("none", "auto", "required")
MAX_N = 128  # OpenAI's bound on ``n``


class BadRequest(ValueError):
    """A request body the simulator refuses with 400; ``param`` names the field."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


ToolChoice = str  # "none" | "auto" | "required" | "function:<name>"


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """One offered function tool: its name, description and JSON schema of arguments."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(slots=True)
class ChatRequest:
    """The fields of a chat-completions request that shape the answer (not frozen: a frozen
    dataclass's ``__init__`` costs a ``object.__setattr__`` per field on the hot path)."""

    messages: list[dict[str, Any]]
    model: str | None
    max_tokens: int | None
    format_kind: FormatKind
    response_format: dict[str, Any] | None
    schema: Any
    stream: bool
    include_usage: bool
    tools: tuple[ToolSpec, ...] | None = None
    tool_choice: ToolChoice = "none"
    parallel_tool_calls: bool = True
    n: int = 1  # choices to answer


def message_text(content: Any) -> str:
    """The text of a message's ``content``: a string, text parts joined by spaces, or ``""``."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part["text"]
            for part in content
            if part.get("type") == "text" and isinstance(part.get("text"), str)
        )
    return ""


def _show(value: Any) -> str:
    """A short repr of a client's value for an error message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _positive_int(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadRequest(f"'{name}' must be a positive integer, got {_show(value)}", name)
    return value


def _check_n(value: Any) -> int:
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_N:
        raise BadRequest(f"'n' must be an integer between 1 and {MAX_N}, got {_show(value)}", "n")
    return value


def _check_content_parts(parts: list[Any], where: str) -> None:
    for j, part in enumerate(parts):
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            raise BadRequest(f"'{where}[{j}]' must be an object with a 'type'", where)
        if part["type"] == "text" and not isinstance(part.get("text"), str):
            raise BadRequest(f"'{where}[{j}].text' must be a string", where)


def _check_messages(messages: Any) -> list[dict[str, Any]]:
    if not isinstance(messages, list) or not messages:
        raise BadRequest("'messages' must be a non-empty list of message objects", "messages")
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise BadRequest(f"'{where}' must be an object with 'role' and 'content'", where)
        role = message.get("role")
        if role not in ROLES:
            raise BadRequest(
                f"'{where}.role' must be one of {sorted(ROLES)}, got {_show(role)}", f"{where}.role"
            )
        if role == "tool" and not isinstance(message.get("tool_call_id"), str):
            raise BadRequest(
                f"'{where}.tool_call_id' must be the id of the tool call this message answers",
                f"{where}.tool_call_id",
            )
        content = message.get("content")
        if isinstance(content, str):
            continue
        if isinstance(content, list):
            _check_content_parts(content, f"{where}.content")
        elif content is not None or role not in _NULL_CONTENT_ROLES:
            hint = " (null only for assistant and tool messages)" if content is None else ""
            raise BadRequest(
                f"'{where}.content' must be a string or a list of content parts{hint}",
                f"{where}.content",
            )
    return messages


def _check_response_format(value: Any) -> tuple[FormatKind, dict[str, Any] | None, Any]:
    if value is None:
        return "text", None, None
    if not isinstance(value, dict):
        raise BadRequest("'response_format' must be an object with a 'type'", "response_format")
    kind = value.get("type")
    if kind == "text" or kind == "json_object":
        return kind, value, None
    if kind == "json_schema":
        spec = value.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("schema"), dict | bool):
            raise BadRequest(
                "'response_format.json_schema.schema' is required for type 'json_schema'",
                "response_format.json_schema",
            )
        return kind, value, spec["schema"]
    raise BadRequest(
        f"'response_format.type' must be 'text', 'json_object' or 'json_schema', got {_show(kind)}",
        "response_format.type",
    )


# -- tools --------------------------------------------------------------------------------


def _check_tool(tool: Any, i: int) -> ToolSpec:
    where = f"tools[{i}]"
    if not isinstance(tool, dict):
        raise BadRequest(f"'{where}' must be an object with 'type' and 'function'", where)
    if tool.get("type") != "function":
        raise BadRequest(
            f"'{where}.type' must be 'function', got {_show(tool.get('type'))}", f"{where}.type"
        )
    function = tool.get("function")
    if not isinstance(function, dict):
        raise BadRequest(f"'{where}.function' must be an object with a 'name'", f"{where}.function")
    name = function.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise BadRequest(
            f"'{where}.function.name' must be 1-64 characters of a-z, A-Z, 0-9, _ or -, "
            f"got {_show(name)}",
            f"{where}.function.name",
        )
    description = function.get("description", "")
    if not isinstance(description, str):
        raise BadRequest(
            f"'{where}.function.description' must be a string", f"{where}.function.description"
        )
    parameters = function.get("parameters", {"type": "object", "properties": {}})
    if not isinstance(parameters, dict):
        raise BadRequest(
            f"'{where}.function.parameters' must be a JSON schema object, got {_show(parameters)}",
            f"{where}.function.parameters",
        )
    if parameters.get("type", "object") != "object":
        raise BadRequest(
            f"'{where}.function.parameters.type' must be 'object' (arguments are a JSON object), "
            f"got {_show(parameters.get('type'))}",
            f"{where}.function.parameters",
        )
    strict = function.get("strict")
    if strict is not None and not isinstance(strict, bool):
        raise BadRequest(f"'{where}.function.strict' must be a boolean", f"{where}.function.strict")
    return ToolSpec(name, description, parameters)


def _check_tools(value: Any) -> tuple[ToolSpec, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise BadRequest(
            "'tools' must be a non-empty list of {'type': 'function', 'function': {...}} "
            "objects (leave it out for no tools)",
            "tools",
        )
    specs = tuple(_check_tool(tool, i) for i, tool in enumerate(value))
    seen: set[str] = set()
    for i, spec in enumerate(specs):
        if spec.name in seen:
            raise BadRequest(
                f"'tools[{i}].function.name' {spec.name!r} is offered twice; tool names must "
                "be unique",
                f"tools[{i}].function.name",
            )
        seen.add(spec.name)
    return specs


def _check_choice(value: Any, tools: tuple[ToolSpec, ...] | None) -> ToolChoice:
    if value is None:
        return "auto" if tools else "none"
    if isinstance(value, str):
        if value not in _CHOICES:
            raise BadRequest(
                "'tool_choice' must be 'none', 'auto', 'required' or "
                f"{{'type': 'function', 'function': {{'name': ...}}}}, got {_show(value)}",
                "tool_choice",
            )
        if value == "required" and not tools:
            raise BadRequest("'tool_choice' 'required' needs 'tools'", "tool_choice")
        return value if tools else "none"
    if not isinstance(value, dict) or value.get("type") != "function":
        raise BadRequest(
            "'tool_choice' object must be {'type': 'function', 'function': {'name': ...}}, "
            f"got {_show(value)}",
            "tool_choice",
        )
    function = value.get("function")
    name = function.get("name") if isinstance(function, dict) else None
    if not isinstance(name, str):
        raise BadRequest(
            "'tool_choice.function.name' must be the name of one of the 'tools'",
            "tool_choice.function.name",
        )
    names = [spec.name for spec in tools or ()]
    if name not in names:
        raise BadRequest(
            f"'tool_choice.function.name' {name!r} is not one of the offered tools {names}",
            "tool_choice.function.name",
        )
    return f"function:{name}"


def _check_tool_fields(
    data: dict[str, Any],
) -> tuple[tuple[ToolSpec, ...] | None, ToolChoice, bool]:
    """``(tools, tool_choice, parallel_tool_calls)`` of a request body, validated."""
    if "tools" not in data and "tool_choice" not in data and "parallel_tool_calls" not in data:
        return None, "none", True  # the common case, kept cheap
    tools = _check_tools(data.get("tools"))
    choice = _check_choice(data.get("tool_choice"), tools)
    parallel = data.get("parallel_tool_calls")
    if parallel is not None and not isinstance(parallel, bool):
        raise BadRequest(
            f"'parallel_tool_calls' must be a boolean, got {_show(parallel)}", "parallel_tool_calls"
        )
    return tools, choice, parallel is not False


def parse_chat_request(body: bytes) -> ChatRequest:
    """Validate a raw request body; raises ``BadRequest`` with a clear message."""
    try:
        data = loads(body)
    except JSONDecodeError as exc:
        raise BadRequest(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object")
    messages = _check_messages(data.get("messages"))
    model = data.get("model")
    if model is not None and not isinstance(model, str):
        raise BadRequest(f"'model' must be a string, got {_show(model)}", "model")
    max_completion_tokens = _positive_int(data, "max_completion_tokens")
    max_tokens = _positive_int(data, "max_tokens")
    if max_completion_tokens is not None:
        max_tokens = max_completion_tokens
    temperature = data.get("temperature")
    if temperature is not None and (
        isinstance(temperature, bool)
        or not isinstance(temperature, int | float)
        or not 0 <= temperature <= 2
    ):
        raise BadRequest(
            f"'temperature' must be a number between 0 and 2, got {_show(temperature)}",
            "temperature",
        )
    kind, response_format, schema = _check_response_format(data.get("response_format"))
    stream = data.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise BadRequest(f"'stream' must be a boolean, got {_show(stream)}", "stream")
    options = data.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise BadRequest("'stream_options' must be an object", "stream_options")
    tools, tool_choice, parallel = _check_tool_fields(data)
    n = _check_n(data.get("n"))
    return ChatRequest(
        messages=messages,
        model=model,
        max_tokens=max_tokens,
        format_kind=kind,
        response_format=response_format,
        schema=schema,
        stream=bool(stream),
        include_usage=bool(options and options.get("include_usage")),
        tools=tools,
        tool_choice=tool_choice,
        parallel_tool_calls=parallel,
        n=n,
    )
