"""Typed results of a chat-completion call."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ChatDelta", "ChatResponse", "RateLimitSnapshot", "Usage", "parse_duration"]


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

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_duration(text: str | None) -> float | None:
    """Seconds from an OpenAI reset header (``"6m0s"``, ``"1.5s"``, ``"20ms"``, ``"2"``)."""
    if not text:
        return None
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return None


@dataclass(slots=True, frozen=True)
class RateLimitSnapshot:
    """The provider's ``x-ratelimit-*`` view at the time of one response (None = not sent).

    Reset values are in seconds from the moment the response was received.
    """

    limit_requests: int | None = None
    limit_tokens: int | None = None
    remaining_requests: int | None = None
    remaining_tokens: int | None = None
    reset_requests: float | None = None
    reset_tokens: float | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimitSnapshot:
        """Parse the OpenAI rate-limit headers (case-insensitive mapping expected)."""
        if "x-ratelimit-limit-requests" not in headers and (
            "x-ratelimit-limit-tokens" not in headers
        ):
            return _NO_LIMITS
        return cls(
            limit_requests=_int_header(headers, "x-ratelimit-limit-requests"),
            limit_tokens=_int_header(headers, "x-ratelimit-limit-tokens"),
            remaining_requests=_int_header(headers, "x-ratelimit-remaining-requests"),
            remaining_tokens=_int_header(headers, "x-ratelimit-remaining-tokens"),
            reset_requests=parse_duration(headers.get("x-ratelimit-reset-requests")),
            reset_tokens=parse_duration(headers.get("x-ratelimit-reset-tokens")),
        )

    @property
    def present(self) -> bool:
        """True when the provider sent any rate-limit header."""
        return self is not _NO_LIMITS and self != _NO_LIMITS


_NO_LIMITS = RateLimitSnapshot()


@dataclass(slots=True)
class ChatResponse:
    """One complete chat-completion answer."""

    content: str
    usage: Usage = _NO_USAGE
    finish_reason: str | None = None
    model: str | None = None
    id: str | None = None
    request_id: str | None = None
    rate_limits: RateLimitSnapshot = _NO_LIMITS
    tool_calls: list[dict[str, Any]] | None = field(default=None, repr=False)


@dataclass(slots=True, frozen=True)
class ChatDelta:
    """One piece of a streamed answer: a text delta, or the final piece with the usage."""

    content: str
    usage: Usage | None = None
    finish_reason: str | None = None
