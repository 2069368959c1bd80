"""Parse an Anthropic Messages request and translate it to the simulator's ``ChatRequest``.

The answer logic is the OpenAI wire's (``AnswerMaker``): ``system`` becomes a system message,
``tool_use`` blocks become an assistant's ``tool_calls``, ``tool_result`` blocks become
``role: "tool"`` messages, ``tool_choice`` ``auto`` / ``any`` / ``tool`` / ``none`` become
``auto`` / ``required`` / a named function / ``none``; ``output_config.format`` (structured
outputs) becomes a ``json_schema`` format. Images and documents are accepted and ignored.
Alongside, the request's prompt-caching segments: every tool, system block and message block
in Anthropic's prefix order (tools → system → messages), with its estimated tokens and the
``cache_control`` breakpoints (see ``anthropic_cache.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .._json import JSONDecodeError, dumps, dumps_canonical, loads
from .answers import estimate_tokens
from .request import BadRequest, ChatRequest, ToolSpec

__all__ = ["MessagesRequest", "Segment", "parse_messages_request"]

_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TTLS = {"5m": 300.0, "1h": 3600.0}
_BLOCKS = frozenset(
    {"text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking"}
)


@dataclass(frozen=True, slots=True)
class Segment:
    """One cacheable unit of the prompt: its canonical bytes, tokens and breakpoint TTL."""

    key: bytes
    tokens: int
    ttl: float | None  # seconds when the unit carries ``cache_control``


@dataclass(slots=True)
class MessagesRequest:
    """A validated Messages request: the translated chat request and what only Anthropic has."""

    chat: ChatRequest
    model: str
    stop_sequences: tuple[str, ...] = ()
    segments: list[Segment] = field(default_factory=list)

    @property
    def input_tokens(self) -> int:
        """``3 + Σ`` segment tokens: the whole prompt."""
        return 3 + sum(s.tokens for s in self.segments)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _ttl(block: dict[str, Any], where: str) -> float | None:
    control = block.get("cache_control")
    if control is None:
        return None
    if not isinstance(control, dict) or control.get("type") != "ephemeral":
        raise BadRequest(f"{where}.cache_control: Input should be {{'type': 'ephemeral'}}")
    ttl = control.get("ttl", "5m")
    if ttl not in _TTLS:
        raise BadRequest(f"{where}.cache_control.ttl: Input should be '5m' or '1h'")
    return _TTLS[ttl]


def _segment(block: dict[str, Any], tokens: int, where: str) -> Segment:
    plain = {k: v for k, v in block.items() if k != "cache_control"}
    return Segment(dumps_canonical(plain), tokens, _ttl(block, where))


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            b["text"] for b in content if isinstance(b, dict) and isinstance(b.get("text"), str)
        )
    return ""


def _blocks(content: Any, where: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise BadRequest(f"{where}: Input should be a valid string or list of content blocks")
    for j, block in enumerate(content):
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in _BLOCKS:
            raise BadRequest(f"{where}.{j}.type: Input tag {_show(kind)} is not a content block")
        if kind == "text" and not isinstance(block.get("text"), str):
            raise BadRequest(f"{where}.{j}.text: Field required")
        if kind == "tool_use" and not (
            isinstance(block.get("id"), str)
            and isinstance(block.get("name"), str)
            and isinstance(block.get("input"), dict)
        ):
            raise BadRequest(f"{where}.{j}: tool_use blocks need 'id', 'name' and 'input'")
        if kind == "tool_result" and not isinstance(block.get("tool_use_id"), str):
            raise BadRequest(f"{where}.{j}.tool_use_id: Field required")
    return content


def _block_tokens(block: dict[str, Any]) -> int:
    kind = block["type"]
    if kind == "text":
        return estimate_tokens(block["text"])
    if kind == "tool_use":
        return estimate_tokens(block["name"] + dumps(block["input"]).decode())
    if kind == "tool_result":
        return estimate_tokens(_text_of(block.get("content")))
    return 0  # images, documents, thinking: accepted, not counted


def _translate(role: str, content: Any, out: list[dict[str, Any]]) -> None:
    """Append the OpenAI-shaped messages of one Anthropic message (string content stays a
    string, so the same conversation gets the same answer on both wires)."""
    if isinstance(content, str):
        out.append({"role": role, "content": content})
        return
    blocks: list[dict[str, Any]] = content
    texts = [{"type": "text", "text": b["text"]} for b in blocks if b["type"] == "text"]
    if role == "assistant":
        calls = [
            {
                "id": b["id"],
                "type": "function",
                "function": {"name": b["name"], "arguments": dumps(b["input"]).decode()},
            }
            for b in blocks
            if b["type"] == "tool_use"
        ]
        message: dict[str, Any] = {"role": "assistant", "content": texts or None}
        if calls:
            message["tool_calls"] = calls
        out.append(message)
        return
    for b in blocks:
        if b["type"] == "tool_result":
            text = _text_of(b.get("content"))
            out.append({"role": "tool", "tool_call_id": b["tool_use_id"], "content": text})
    if texts or not any(b["type"] == "tool_result" for b in blocks):
        out.append({"role": "user", "content": texts})


def _tools(value: Any, segments: list[Segment]) -> tuple[ToolSpec, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise BadRequest("tools: Input should be a valid list")
    specs: list[ToolSpec] = []
    for i, tool in enumerate(value):
        where = f"tools.{i}"
        if not isinstance(tool, dict) or tool.get("type", "custom") != "custom":
            raise BadRequest(f"{where}: only custom tools (name, input_schema) are simulated")
        name, schema = tool.get("name"), tool.get("input_schema")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise BadRequest(f"{where}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'")
        if any(s.name == name for s in specs):
            raise BadRequest(f"tools: Tool names must be unique ({name!r})")
        if not isinstance(schema, dict) or schema.get("type") != "object":
            raise BadRequest(f"{where}.input_schema: Input should be an object schema")
        description = tool.get("description", "")
        if not isinstance(description, str):
            raise BadRequest(f"{where}.description: Input should be a valid string")
        specs.append(ToolSpec(name, description, schema))
        tokens = estimate_tokens(name + description + dumps_canonical(schema).decode())
        segments.append(_segment(tool, tokens, where))
    return tuple(specs) or None


def _tool_choice(value: Any, tools: tuple[ToolSpec, ...] | None) -> tuple[str, bool]:
    if value is None:
        return ("auto" if tools else "none"), True
    kind = value.get("type") if isinstance(value, dict) else None
    if kind not in ("auto", "any", "tool", "none"):
        raise BadRequest("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")
    parallel = not value.get("disable_parallel_tool_use", False)
    if kind == "none" or not tools:
        if kind in ("any", "tool"):
            raise BadRequest(f"tool_choice: type {kind!r} needs 'tools'")
        return "none", parallel
    if kind == "tool":
        name = value.get("name")
        if name not in {t.name for t in tools}:
            raise BadRequest(f"tool_choice.name: {_show(name)} is not one of the tools")
        return f"function:{name}", parallel
    return ("required" if kind == "any" else "auto"), parallel


def _system(value: Any, segments: list[Segment]) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        segments.append(Segment(dumps(value), estimate_tokens(value), None))
        return value
    if not isinstance(value, list):
        raise BadRequest("system: Input should be a valid string or list of text blocks")
    for j, block in enumerate(value):
        if not isinstance(block, dict) or block.get("type") != "text":
            raise BadRequest(f"system.{j}: Input should be a text block")
        if not isinstance(block.get("text"), str):
            raise BadRequest(f"system.{j}.text: Field required")
        segments.append(_segment(block, estimate_tokens(block["text"]), f"system.{j}"))
    return _text_of(value)


def _output_format(config: Any) -> tuple[dict[str, Any] | None, Any]:
    """``output_config.format`` (structured outputs) as an OpenAI ``json_schema`` format."""
    fmt = config.get("format") if isinstance(config, dict) else None
    if fmt is None:
        return None, None
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        raise BadRequest("output_config.format.type: Input should be 'json_schema'")
    schema = fmt.get("schema")
    if not isinstance(schema, dict):
        raise BadRequest("output_config.format.schema: Field required")
    return {"type": "json_schema", "json_schema": {"name": "output", "schema": schema}}, schema


def parse_messages_request(raw: bytes) -> MessagesRequest:
    """Validate a ``POST /v1/messages`` body; raises ``BadRequest`` naming the field."""
    try:
        data = loads(raw)
    except JSONDecodeError as exc:
        raise BadRequest(f"There was an error parsing the body: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object")
    model, max_tokens = data.get("model"), data.get("max_tokens")
    if not isinstance(model, str) or not model:
        raise BadRequest("model: Field required")
    if max_tokens is None:
        raise BadRequest("max_tokens: Field required")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise BadRequest(f"max_tokens: Input should be a positive integer, got {_show(max_tokens)}")
    temperature = data.get("temperature")
    if temperature is not None and (
        isinstance(temperature, bool)
        or not isinstance(temperature, int | float)
        or not 0 <= temperature <= 1
    ):
        raise BadRequest("temperature: Input should be less than or equal to 1")
    stops = data.get("stop_sequences") or []
    if not isinstance(stops, list) or not all(isinstance(s, str) and s for s in stops):
        raise BadRequest("stop_sequences: Input should be a list of non-empty strings")
    stream = data.get("stream", False)
    if not isinstance(stream, bool):
        raise BadRequest("stream: Input should be a valid boolean")
    segments: list[Segment] = []
    tools = _tools(data.get("tools"), segments)
    choice, parallel = _tool_choice(data.get("tool_choice"), tools)
    system = _system(data.get("system"), segments)
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("messages: Input should be a non-empty list")
    chat_messages: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    for i, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("user", "assistant"):
            raise BadRequest(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        blocks = _blocks(message.get("content"), f"messages.{i}.content")
        for j, block in enumerate(blocks):
            tokens = _block_tokens(block) + (4 if j == 0 else 0)
            keyed = {**block, "role": role} if j == 0 else block
            segments.append(_segment(keyed, tokens, f"messages.{i}.content.{j}"))
        _translate(role, message["content"], chat_messages)
    if data.get("cache_control") is not None:  # automatic caching: the last block
        last = segments[-1]
        ttl = _ttl(data, "cache_control")
        segments[-1] = Segment(last.key, last.tokens, ttl)
    response_format, schema = _output_format(data.get("output_config"))
    chat = ChatRequest(
        messages=chat_messages,
        model=model,
        max_tokens=max_tokens,
        format_kind="json_schema" if schema is not None else "text",
        response_format=response_format,
        schema=schema,
        stream=stream,
        include_usage=False,
        tools=tools,
        tool_choice=choice,
        parallel_tool_calls=parallel,
    )
    return MessagesRequest(chat, model, tuple(stops), segments)
