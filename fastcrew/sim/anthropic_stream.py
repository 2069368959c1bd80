"""Anthropic's answer shapes: the ``message`` body and its SSE events, from an ``Answer``.

A text answer is one ``text`` block (cut at the first ``stop_sequences`` match:
``stop_reason: "stop_sequence"``); a tool-call answer is one ``tool_use`` block per call
(``toolu_`` ids, ``input`` the arguments object; ``{}`` when the arguments are not a JSON
object), ``stop_reason: "tool_use"``; a cut answer is ``"max_tokens"``. The stream is
``message_start``, ``ping``, then per block ``content_block_start``, deltas of 4 characters
(``text_delta`` / ``input_json_delta``) and ``content_block_stop``, then ``message_delta``
(``stop_reason``, usage) and ``message_stop``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._json import JSONDecodeError, dumps, loads
from .answers import Answer, estimate_tokens
from .wire import CHARS_PER_CHUNK

__all__ = ["Reply", "Usage", "message_body", "reply_of", "stream_events"]

_STOPS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}


@dataclass(frozen=True, slots=True)
class Usage:
    """The input side of ``usage``: uncached input, cache creation (by TTL) and cache reads."""

    input_tokens: int
    cache_creation: int = 0
    cache_read: int = 0
    creation_1h: int = 0

    def body(self, output_tokens: int) -> dict[str, Any]:
        """Anthropic's ``usage`` object."""
        return {
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": self.cache_creation,
            "cache_read_input_tokens": self.cache_read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": self.cache_creation - self.creation_1h,
                "ephemeral_1h_input_tokens": self.creation_1h,
            },
            "output_tokens": output_tokens,
            "service_tier": "standard",
        }


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer in Anthropic's terms."""

    id: str
    blocks: list[dict[str, Any]]
    stop_reason: str
    stop_sequence: str | None
    output_tokens: int


def _input(arguments: str) -> dict[str, Any]:
    try:
        value = loads(arguments)
    except JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def reply_of(answer: Answer, stop_sequences: tuple[str, ...]) -> Reply:
    """Translate the simulator's ``Answer`` into content blocks and a ``stop_reason``."""
    message_id = "msg_" + answer.id.removeprefix("chatcmpl-")
    stop = _STOPS.get(answer.finish_reason, "end_turn")
    if answer.tool_calls:
        blocks = [
            {
                "type": "tool_use",
                "id": "toolu_" + call.id.removeprefix("call_"),
                "name": call.name,
                "input": _input(call.arguments),
            }
            for call in answer.tool_calls
        ]
        return Reply(message_id, blocks, stop, None, answer.completion_tokens)
    text = answer.content or ""
    matched: str | None = None
    cut = len(text)
    for sequence in stop_sequences:
        at = text.find(sequence)
        if 0 <= at < cut:
            cut, matched = at, sequence
    if matched is not None:
        text, stop = text[:cut], "stop_sequence"
    blocks = [{"type": "text", "text": text}]
    return Reply(message_id, blocks, stop, matched, estimate_tokens(text))


def message_body(reply: Reply, model: str, usage: Usage) -> bytes:
    """The JSON body of a non-streamed answer."""
    return dumps(
        {
            "id": reply.id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": reply.blocks,
            "stop_reason": reply.stop_reason,
            "stop_sequence": reply.stop_sequence,
            "usage": usage.body(reply.output_tokens),
        }
    )


def _event(kind: str, data: dict[str, Any]) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + dumps({"type": kind, **data}) + b"\n\n"


def _pieces(text: str) -> list[str]:
    return [text[i : i + CHARS_PER_CHUNK] for i in range(0, len(text), CHARS_PER_CHUNK)]


def stream_events(reply: Reply, model: str, usage: Usage) -> tuple[bytes, list[bytes], bytes]:
    """``(head, paced pieces, tail)`` of the SSE stream; each piece is one delta (a token)."""
    start: dict[str, Any] = {
        "id": reply.id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage.body(1),
    }
    head = _event("message_start", {"message": start}) + _event("ping", {})
    pieces: list[bytes] = []
    for index, block in enumerate(reply.blocks):
        if block["type"] == "text":
            opening: dict[str, Any] = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": p} for p in _pieces(block["text"])]
        else:
            opening = {**block, "input": {}}
            text = dumps(block["input"]).decode()
            deltas = [{"type": "input_json_delta", "partial_json": p} for p in _pieces(text)]
        opened = _event("content_block_start", {"index": index, "content_block": opening})
        events = [_event("content_block_delta", {"index": index, "delta": d}) for d in deltas]
        if events:
            events[0] = opened + events[0]
        else:
            events = [opened]
        events[-1] += _event("content_block_stop", {"index": index})
        pieces.extend(events)
    delta = {"stop_reason": reply.stop_reason, "stop_sequence": reply.stop_sequence}
    final = usage.body(reply.output_tokens)
    del final["cache_creation"], final["service_tier"]
    tail = _event("message_delta", {"delta": delta, "usage": final})
    return head, pieces, tail + _event("message_stop", {})
