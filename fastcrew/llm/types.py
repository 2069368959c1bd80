"""Typed results of a chat-completion call."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..limits.snapshot import NO_LIMITS, RateLimitSnapshot

__all__ = ["NO_USAGE", "ChatDelta", "ChatResponse", "RateLimitSnapshot", "ToolCall", "Usage"]


@dataclass(slots=True, frozen=True)
class Usage:
    """Token counts of one call, as the provider reported them, and what the call cost.

    ``prompt_tokens`` counts all input tokens, ``cached_prompt_tokens`` (read from the
    prompt cache) and ``cache_write_tokens`` (Anthropic's ``cache_creation_input_tokens``;
    0 on OpenAI) included; ``completion_tokens`` all output tokens, ``reasoning_tokens``
    included. ``cost_usd`` is the call's price (the LLM client sets it when it parses the
    answer, see docs/cost.md); ``priced`` is False when it is unknown — the model has no
    price, the provider reported no usage, or the answer did not come from the client (a
    custom LLM's) — and then ``cost_usd`` is 0.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_prompt_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float = 0.0
    priced: bool = False

    @classmethod
    def from_wire(cls, data: Mapping[str, Any] | None) -> Usage:
        """Read a provider's ``usage`` object, unpriced (missing fields count as 0): OpenAI's
        (``prompt_tokens_details.cached_tokens``, ``completion_tokens_details.
        reasoning_tokens``) or Anthropic's (``input_tokens`` without the cache,
        ``cache_read_input_tokens``, ``cache_creation_input_tokens``: summed into
        ``prompt_tokens`` here, as in ``fastcrew.pricing.TokenUsage.from_wire``)."""
        if not data:
            return NO_USAGE
        if "prompt_tokens" in data:
            prompt = int(data.get("prompt_tokens") or 0)
            completion = int(data.get("completion_tokens") or 0)
            details = data.get("prompt_tokens_details") or _EMPTY
            output = data.get("completion_tokens_details") or _EMPTY
            return cls(
                prompt,
                completion,
                int(data.get("total_tokens") or prompt + completion),
                int(details.get("cached_tokens") or 0),
                0,
                int(output.get("reasoning_tokens") or 0),
            )
        read = int(data.get("cache_read_input_tokens") or 0)
        write = int(data.get("cache_creation_input_tokens") or 0)
        prompt = int(data.get("input_tokens") or 0) + read + write
        completion = int(data.get("output_tokens") or 0)
        total = int(data.get("total_tokens") or prompt + completion)
        return cls(prompt, completion, total, read, write)


def set_cost(usage: Usage, usd: float, priced: bool) -> None:
    """Set the cost of a ``Usage`` the client has just parsed, before anyone else sees it
    (the one write to a ``Usage`` after it is made: a copy would cost ~0.8 µs per call)."""
    _set(usage, "cost_usd", usd)
    _set(usage, "priced", priced)


_set = object.__setattr__


_EMPTY: Mapping[str, Any] = {}
NO_USAGE = Usage()
"""No usage reported (the answer had none): never priced."""


@dataclass(slots=True)
class ChatResponse:
    """One complete chat-completion answer.

    ``request_id`` is the provider's ``x-request-id`` header; ``raw`` its response body
    exactly as it came (bytes, not re-encoded), for non-streamed answers — None for a stream;
    ``retries`` the attempts the call made after its first.

    ``cache`` is ``"hit"`` when the answer came from the LLM's response cache (no request
    was sent: ``usage`` holds the stored answer's tokens with ``cost_usd`` 0, and
    ``saved_usd`` what it would have cost), ``"miss"`` when the cache was looked in and the
    answer fetched (and stored), None without a cache (docs/cache.md).
    """

    content: str
    usage: Usage = NO_USAGE
    finish_reason: str | None = None
    model: str | None = None
    id: str | None = None
    request_id: str | None = None
    rate_limits: RateLimitSnapshot = NO_LIMITS
    retries: int = 0
    tool_calls: list[dict[str, Any]] | None = field(default=None, repr=False)
    raw: bytes | None = field(default=None, repr=False)
    cache: Literal["hit", "miss"] | None = None
    saved_usd: float = 0.0


@dataclass(slots=True, frozen=True)
class ChatDelta:
    """One piece of a streamed answer: a text delta, tool-call fragments (OpenAI's
    ``delta.tool_calls``: index, id, function name, a piece of the arguments), or the final
    piece with the usage (and the ``model`` the provider answered with, as its chunk says)."""

    content: str
    usage: Usage | None = None
    finish_reason: str | None = None
    tool_calls: tuple[dict[str, Any], ...] | None = None
    model: str | None = None


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
