"""Typed results of a chat-completion call."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..limits.snapshot import NO_LIMITS, RateLimitSnapshot

__all__ = ["ChatDelta", "ChatResponse", "RateLimitSnapshot", "ToolCall", "Usage"]


@dataclass(slots=True, frozen=True)
class Usage:
    """Token counts of one call, as the provider reported them."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_prompt_tokens: int = 0

    @classmethod
    def from_wire(cls, data: Mapping[str, Any] | None) -> Usage:
        """Read an OpenAI ``usage`` object (missing fields count as 0)."""
        if not data:
            return _NO_USAGE
        prompt = int(data.get("prompt_tokens") or 0)
        completion = int(data.get("completion_tokens") or 0)
        details = data.get("prompt_tokens_details") or {}
        return cls(
            prompt_tokens=prompt,
            completion_tokens=completion,
            total_tokens=int(data.get("total_tokens") or prompt + completion),
            cached_prompt_tokens=int(details.get("cached_tokens") or 0),
        )


_NO_USAGE = Usage()


@dataclass(slots=True)
class ChatResponse:
    """One complete chat-completion answer.

    ``request_id`` is the provider's ``x-request-id`` header; ``raw`` its response body
    exactly as it came (bytes, not re-encoded), for non-streamed answers — None for a stream;
    ``retries`` the attempts the call made after its first.
    """

    content: str
    usage: Usage = _NO_USAGE
    finish_reason: str | None = None
    model: str | None = None
    id: str | None = None
    request_id: str | None = None
    rate_limits: RateLimitSnapshot = NO_LIMITS
    retries: int = 0
    tool_calls: list[dict[str, Any]] | None = field(default=None, repr=False)
    raw: bytes | None = field(default=None, repr=False)


@dataclass(slots=True, frozen=True)
class ChatDelta:
    """One piece of a streamed answer: a text delta, tool-call fragments (OpenAI's
    ``delta.tool_calls``: index, id, function name, a piece of the arguments), or the final
    piece with the usage."""

    content: str
    usage: Usage | None = None
    finish_reason: str | None = None
    tool_calls: tuple[dict[str, Any], ...] | None = None


class ToolCall(dict[str, Any]):
    """An OpenAI tool call (``{"id", "type", "function": {"name", "arguments"}}``) that also
    reads like the ``openai`` SDK's object: ``call["function"]["name"]`` and
    ``call.function.name`` both work. What ``LLM.call`` returns for tool calls it does not run.
    """

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        try:
            value = self[name]
        except KeyError:
            raise AttributeError(name) from None
        if isinstance(value, dict) and not isinstance(value, ToolCall):
            return ToolCall(value)
        return value
