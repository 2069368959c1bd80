"""Anthropic's Messages SSE events → fastcrew's :class:`ChatDelta` pieces.

``message_start`` (input usage, model), ``content_block_start`` (a ``tool_use`` block opens
a tool call: id and name), ``content_block_delta`` (``text_delta`` → text,
``input_json_delta`` → that call's argument fragment), ``message_delta`` (stop reason and
output usage: the final usage delta), ``message_stop`` (the end), ``error`` (an
:class:`~fastcrew.errors.LLMError`). ``ping`` and ``event:`` lines are skipped.
"""

from __future__ import annotations

from typing import Any, Literal

from .._json import JSONDecodeError, dumps, loads
from .anthropic import STOP_REASONS, STRUCTURED_TOOL, anthropic_error
from .types import ChatDelta, Usage
from .wire import malformed_response

__all__ = ["AnthropicStreamDecoder"]


class AnthropicStreamDecoder:
    """Decodes one stream's lines (stateful: block index → tool-call index, input usage)."""

    __slots__ = ("_calls", "_filled", "_model", "_structured", "_usage")

    def __init__(self) -> None:
        self._calls: dict[int, int] = {}
        self._filled: set[int] = set()  # calls that got arguments (else "{}" at their end)
        self._usage: dict[str, Any] = {}
        self._model: str | None = None
        self._structured: set[int] = set()  # blocks of the structured-output tool: text

    def __call__(
        self, line: bytes, request_id: str | None, secret: str | None = None
    ) -> ChatDelta | Literal[True] | None:
        """One SSE line → a delta, ``None`` (nothing to yield) or ``True`` at the end."""
        line = line.strip()
        if not line.startswith(b"data:"):
            return None
        payload = line[5:].strip()
        try:
            event = loads(payload)
        except JSONDecodeError:
            raise malformed_response("stream event is not valid JSON", request_id) from None
        if not isinstance(event, dict):
            raise malformed_response("stream event is not an object", request_id)
        kind = event.get("type")
        if kind == "message_start":
            message = event.get("message") or {}
            self._model = message.get("model")
            self._usage.update(message.get("usage") or {})
        elif kind == "content_block_start":
            return self._block_start(event)
        elif kind == "content_block_delta":
            return self._block_delta(event)
        elif kind == "content_block_stop":
            index = self._calls.get(int(event.get("index") or 0))
            if index is not None and index not in self._filled:
                self._filled.add(index)
                empty = {"index": index, "function": {"arguments": "{}"}}
                return ChatDelta("", tool_calls=(empty,))
        elif kind == "message_delta":
            self._usage.update((event.get("usage") or {}).items())
            stop = (event.get("delta") or {}).get("stop_reason")
            if stop == "tool_use" and not self._calls:  # only the structured-output tool
                stop = "end_turn"
            finish = STOP_REASONS.get(stop or "", stop)
            return ChatDelta("", Usage.from_wire(self._usage), finish, None, self._model)
        elif kind == "message_stop":
            return True
        elif kind == "error":
            raise anthropic_error(500, payload, {}, secret)
        return None

    def _block_start(self, event: dict[str, Any]) -> ChatDelta | None:
        block = event.get("content_block") or {}
        if block.get("type") == "text" and block.get("text"):
            return ChatDelta(str(block["text"]))
        if block.get("type") != "tool_use":
            return None
        if block.get("name") == STRUCTURED_TOOL:
            self._structured.add(int(event.get("index") or 0))
            return None
        index = self._calls[int(event.get("index") or 0)] = len(self._calls)
        start = block.get("input") or {}
        if start:
            self._filled.add(index)
        call = {
            "index": index,
            "id": block.get("id") or "",
            "type": "function",
            "function": {"name": block.get("name") or "", "arguments": dumps(start).decode()}
            if start
            else {"name": block.get("name") or ""},
        }
        return ChatDelta("", tool_calls=(call,))

    def _block_delta(self, event: dict[str, Any]) -> ChatDelta | None:
        delta = event.get("delta") or {}
        if delta.get("type") == "text_delta":
            return ChatDelta(str(delta.get("text") or "")) if delta.get("text") else None
        if delta.get("type") == "input_json_delta" and delta.get("partial_json"):
            if int(event.get("index") or 0) in self._structured:
                return ChatDelta(str(delta["partial_json"]))
            index = self._calls.get(int(event.get("index") or 0))
            if index is None:
                return None
            self._filled.add(index)
            fragment = {"index": index, "function": {"arguments": delta["partial_json"]}}
            return ChatDelta("", tool_calls=(fragment,))
        return None
