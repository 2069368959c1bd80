"""Anthropic natively: ``LLM("anthropic/<model>")`` over ``POST {base}/v1/messages``.

The OpenAI-shaped body fastcrew builds is translated here (system messages → top-level
``system``, assistant ``tool_calls`` → ``tool_use`` blocks, ``tool`` messages →
``tool_result`` blocks in a user turn, ``tools`` → ``input_schema``, ``tool_choice``,
``stop`` → ``stop_sequences``, ``max_tokens`` always, default :data:`DEFAULT_MAX_TOKENS`;
content parts: ``text`` and ``refusal`` → ``text``, ``image_url`` → ``image`` (a ``data:``
URL → a ``base64`` source, else a ``url`` one), ``file`` (``file_data``, a base64 ``data:``
URL) → ``document``, Anthropic's own blocks (:data:`NATIVE_BLOCKS`) as given, any other part
a :class:`~fastcrew.errors.BadRequestError` naming its type),
and the Messages answer back into a :class:`ChatResponse`. Auth: ``x-api-key`` and
``anthropic-version``, never ``Authorization``. The system prompt and the last tool carry
``cache_control: {"type": "ephemeral"}`` (Anthropic ignores it below its minimum length). A
``json_schema`` response format (no other tools) becomes a forced tool, :data:`STRUCTURED_TOOL`,
whose input is returned as the answer's text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .._json import JSONDecodeError, dumps, loads
from ..errors import BadRequestError, LLMError
from ..limits import RateLimitSnapshot
from .providers import endpoint_url
from .types import ChatResponse, Usage
from .wire import error_from_response, malformed_response

__all__ = [
    "ANTHROPIC_VERSION",
    "DEFAULT_MAX_TOKENS",
    "NATIVE_BLOCKS",
    "STOP_REASONS",
    "STRUCTURED_TOOL",
    "anthropic_error",
    "anthropic_headers",
    "messages_url",
    "parse_message",
    "to_messages",
    "to_messages_body",
]

ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
_EPHEMERAL = {"type": "ephemeral"}
STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
STRUCTURED_TOOL = "structured_output"
"""The forced tool a ``json_schema`` response format becomes; its input is the answer."""
_STRUCTURED = "Give the answer: its input is the whole answer, in this schema."
_PASSED = ("temperature", "top_p", "top_k", "metadata", "stream")
NATIVE_BLOCKS = frozenset(
    {"image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking"}
)
"""Anthropic's own content-block types: a content part of one of these is sent as given."""


def messages_url(base_url: str) -> str:
    """``{base}/v1/messages`` from the SDK's base URL (a trailing ``/v1`` also works)."""
    return endpoint_url(base_url.rstrip("/").removesuffix("/v1"), "/v1/messages")


def anthropic_headers(api_key: str | None) -> dict[str, str]:
    """The auth headers: ``x-api-key`` (when there is a key) and ``anthropic-version``."""
    headers = {"anthropic-version": ANTHROPIC_VERSION}
    if api_key:
        headers["x-api-key"] = api_key
    return headers


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") for p in content if isinstance(p, Mapping))


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    return [_block(part) for part in content or ()]


def _block(part: Any) -> dict[str, Any]:
    """One OpenAI content part as a Messages block; Anthropic's own blocks go as given."""
    kind = part.get("type") if isinstance(part, dict) else type(part).__name__
    if kind == "text":
        return {"type": "text", "text": part.get("text", "")}
    if kind == "image_url":
        return _image(part.get("image_url"))
    if kind == "file":
        return _document(part.get("file"))
    if kind == "refusal":
        return {"type": "text", "text": part.get("refusal", "")}
    if isinstance(kind, str) and kind in NATIVE_BLOCKS:
        return part
    raise BadRequestError(
        f"a content part of type {kind!r} cannot be sent to Anthropic's Messages API "
        "(text, image_url, file, refusal and Anthropic's own blocks can)"
    )


def _image(image_url: Any) -> dict[str, Any]:
    """``image_url`` (a ``data:`` URL or a web address) → an ``image`` block."""
    url = image_url.get("url") if isinstance(image_url, dict) else image_url
    if not isinstance(url, str) or not url:
        raise BadRequestError("an image_url content part needs image_url.url")
    if url.startswith("data:"):
        return {"type": "image", "source": _base64_source(url, "image_url.url")}
    return {"type": "image", "source": {"type": "url", "url": url}}


def _document(file: Any) -> dict[str, Any]:
    """A ``file`` part's ``file_data`` (a base64 ``data:`` URL) → a ``document`` block."""
    data_url = file.get("file_data") if isinstance(file, dict) else None
    if not isinstance(data_url, str) or not data_url.startswith("data:"):
        raise BadRequestError(
            "a file content part needs file.file_data, a base64 data: URL, for Anthropic "
            "(an OpenAI file_id means nothing there)"
        )
    return {"type": "document", "source": _base64_source(data_url, "file.file_data")}


def _base64_source(data_url: str, where: str) -> dict[str, str]:
    """``data:<media type>;base64,<data>`` → a ``base64`` source."""
    head, comma, data = data_url[5:].partition(",")
    media_type, _, params = head.partition(";")
    if not comma or not media_type or "base64" not in params.split(";"):
        raise BadRequestError(f"{where}: a data: URL needs a media type and base64 data")
    return {"type": "base64", "media_type": media_type, "data": data}


def _tool_use(call: Mapping[str, Any]) -> dict[str, Any]:
    function = call.get("function") or {}
    try:
        args = loads(function.get("arguments") or "{}")
    except JSONDecodeError:
        args = {}
    return {
        "type": "tool_use",
        "id": call.get("id") or "",
        "name": function.get("name") or "",
        "input": args if isinstance(args, dict) else {},
    }


def _messages(messages: Iterable[Mapping[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    system: list[str] = []
    out: list[dict[str, Any]] = []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        if not blocks:  # Anthropic refuses empty turns
            return
        if out and out[-1]["role"] == role:  # Anthropic wants alternating turns
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})

    for message in messages:
        role = message.get("role")
        if role in ("system", "developer"):
            system.append(_text(message.get("content")))
        elif role == "tool":
            result = {
                "type": "tool_result",
                "tool_use_id": message.get("tool_call_id") or "",
                "content": _text(message.get("content")),
            }
            add("user", [result])
        elif role == "assistant":
            blocks = _blocks(message.get("content"))
            blocks += [_tool_use(c) for c in message.get("tool_calls") or ()]
            add("assistant", blocks)
        else:
            add("user", _blocks(message.get("content")))
    return "\n\n".join(s for s in system if s), out


def _tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    function = tool.get("function") or tool
    spec: dict[str, Any] = {
        "name": function.get("name") or "",
        "input_schema": function.get("parameters") or {"type": "object", "properties": {}},
    }
    if function.get("description"):
        spec["description"] = function["description"]
    return spec


def _tool_choice(choice: Any) -> dict[str, Any] | None:
    if choice in (None, "auto"):
        return {"type": "auto"} if choice else None
    if choice == "required":
        return {"type": "any"}
    if choice == "none":
        return {"type": "none"}
    if isinstance(choice, Mapping):
        name = (choice.get("function") or {}).get("name")
        if name:
            return {"type": "tool", "name": name}
    return None


def _tools(data: Mapping[str, Any], out: dict[str, Any]) -> None:
    """``tools`` and ``tool_choice`` into ``out``; a ``json_schema`` response format with no
    tools becomes the forced :data:`STRUCTURED_TOOL`."""
    tools = [_tool(t) for t in data.get("tools") or ()]
    choice = _tool_choice(data.get("tool_choice"))
    fmt = data.get("response_format")
    if not tools and isinstance(fmt, Mapping) and fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema") or {"type": "object"}
        tools = [{"name": STRUCTURED_TOOL, "description": _STRUCTURED, "input_schema": schema}]
        choice = {"type": "tool", "name": STRUCTURED_TOOL}
    if tools:
        tools[-1]["cache_control"] = _EPHEMERAL
        out["tools"] = tools
        if choice is not None:
            out["tool_choice"] = choice


def to_messages_body(body: bytes) -> bytes:
    """Translate fastcrew's OpenAI chat-completions body into a Messages request body."""
    return dumps(to_messages(loads(body)))


def to_messages(data: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`to_messages_body` on the decoded body (what the client sends, translated once
    per call, before the limiter: a part it cannot send fails before anything is spent)."""
    system, messages = _messages(data.get("messages") or ())
    out: dict[str, Any] = {
        "model": data.get("model"),
        "max_tokens": int(
            data.get("max_tokens") or data.get("max_completion_tokens") or DEFAULT_MAX_TOKENS
        ),
        "messages": messages,
    }
    if system:
        out["system"] = [{"type": "text", "text": system, "cache_control": _EPHEMERAL}]
    if "tools" in data or "response_format" in data:
        _tools(data, out)
    stop = data.get("stop")
    if stop:
        out["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    for name in _PASSED:
        value = data.get(name)
        if value is not None:
            out[name] = value
    return out


def parse_message(body: bytes, headers: Mapping[str, str]) -> ChatResponse:
    """Turn a 2xx Messages body into a :class:`ChatResponse` (``raw``: the body as sent)."""
    request_id = headers.get("request-id")
    try:
        data = loads(body)
        blocks = data["content"]
        if not isinstance(blocks, list):
            raise TypeError
    except JSONDecodeError:
        raise malformed_response("body is not valid JSON", request_id) from None
    except (KeyError, TypeError):
        raise malformed_response("no content list in the Messages body", request_id) from None
    text: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in blocks:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            text.append(str(block.get("text") or ""))
        elif kind == "tool_use" and block.get("name") == STRUCTURED_TOOL:
            text.append(dumps(block.get("input") or {}).decode())
        elif kind == "tool_use":
            calls.append(
                {
                    "id": block.get("id") or "",
                    "type": "function",
                    "function": {
                        "name": block.get("name") or "",
                        "arguments": dumps(block.get("input") or {}).decode(),
                    },
                }
            )
    stop = data.get("stop_reason")
    if stop == "tool_use" and not calls:  # the structured-output tool: a finished answer
        stop = "end_turn"
    return ChatResponse(
        content="".join(text),
        usage=Usage.from_wire(data.get("usage")),
        finish_reason=STOP_REASONS.get(stop, stop),
        model=data.get("model"),
        id=data.get("id"),
        request_id=request_id,
        rate_limits=RateLimitSnapshot.from_headers(headers),
        tool_calls=calls or None,
        raw=body,
    )


def anthropic_error(
    status: int, body: bytes, headers: Mapping[str, str], secret: str | None
) -> LLMError:
    """Anthropic's ``{"type": "error", "error": {type, message}}`` → an :class:`LLMError`
    (529 ``overloaded_error`` is a retryable ``ServerError``, 429 a ``RateLimitError``)."""
    exc = error_from_response(status, body, headers, secret)
    if exc.request_id is None:
        exc.request_id = headers.get("request-id")
    return exc
