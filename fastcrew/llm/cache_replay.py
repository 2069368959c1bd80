"""A cached answer replayed as a stream: the stored chat-completion body turned into the SSE
lines a provider would have sent (content pieces, tool-call deltas, the finish, a usage
chunk, ``[DONE]``), read by :class:`~fastcrew.llm.stream.ChatStream` like any stream."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from .._json import dumps, loads

__all__ = ["CHUNK_CHARS", "ReplayStream", "stream_lines"]

CHUNK_CHARS = 64
"""Characters of content per replayed chunk."""

_NO_HEADERS: Mapping[str, str] = {}


def _line(chunk: dict[str, Any]) -> bytes:
    return b"data: " + dumps(chunk) + b"\n\n"


def stream_lines(stored: bytes) -> list[bytes]:
    """The SSE lines of a stored (non-streaming) chat-completion body."""
    data = loads(stored)
    choice = data["choices"][0]
    message = choice.get("message") or {}
    head = {"id": data.get("id"), "object": "chat.completion.chunk", "model": data.get("model")}
    lines = []

    def delta(part: dict[str, Any], finish: str | None = None) -> None:
        lines.append(_line({**head, "choices": [
            {"index": 0, "delta": part, "finish_reason": finish}]}))  # fmt: skip

    content = message.get("content") or ""
    delta({"role": "assistant", "content": content[:CHUNK_CHARS]})
    for start in range(CHUNK_CHARS, len(content), CHUNK_CHARS):
        delta({"content": content[start : start + CHUNK_CHARS]})
    for index, call in enumerate(message.get("tool_calls") or ()):
        function = call.get("function") or {}
        fragment = {
            "index": index,
            "id": call.get("id"),
            "type": call.get("type", "function"),
            "function": {"name": function.get("name", ""),
                         "arguments": function.get("arguments", "")},
        }  # fmt: skip
        delta({"tool_calls": [fragment]})
    delta({}, choice.get("finish_reason") or "stop")
    if data.get("usage") is not None:
        lines.append(_line({**head, "choices": [], "usage": data["usage"]}))
    lines.append(b"data: [DONE]\n\n")
    return lines


class ReplayStream:
    """An :class:`~fastcrew.llm.transport.HttpStream` over a stored answer (status 200, no
    headers: no request was sent)."""

    status = 200
    headers = _NO_HEADERS

    def __init__(self, stored: bytes) -> None:
        self._lines = stream_lines(stored)

    async def lines(self) -> AsyncIterator[bytes]:
        for line in self._lines:
            yield line

    async def read(self) -> bytes:
        return b"".join(self._lines)

    async def aclose(self) -> None:
        self._lines = []
