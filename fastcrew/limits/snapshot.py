"""The provider's rate-limit view from one response's ``x-ratelimit-*`` headers."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime

__all__ = ["NO_LIMITS", "RateLimitSnapshot", "parse_duration"]

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


_PRESENT = (
    "x-ratelimit-limit-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-remaining-tokens",
)


_ANTHROPIC = "anthropic-ratelimit-"
_ANTHROPIC_KINDS = ("requests", "input-tokens", "output-tokens")


def parse_rfc3339_reset(text: str | None) -> float | None:
    """Seconds from now until an RFC 3339 time (Anthropic's ``…-reset`` headers)."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, moment.timestamp() - time.time())


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

    ``*_input_tokens`` / ``*_output_tokens``: Anthropic's separate input and output token
    budgets (``anthropic-ratelimit-{input,output}-tokens-*``). Reset values are in seconds
    from the moment the response was received.
    ``call_admitted_at``, ``call_tokens``, ``in_flight_tokens``: set by our limiter — when it
    admitted the call this answers (its clock; None = unknown), the tokens that call reserved,
    and the tokens reserved by our other calls still in flight — so a budget can tell which
    of its own admissions the provider may not have counted yet.
    """

    limit_requests: int | None = None
    limit_tokens: int | None = None
    remaining_requests: int | None = None
    remaining_tokens: int | None = None
    reset_requests: float | None = None
    reset_tokens: float | None = None
    limit_input_tokens: int | None = None
    remaining_input_tokens: int | None = None
    reset_input_tokens: float | None = None
    limit_output_tokens: int | None = None
    remaining_output_tokens: int | None = None
    reset_output_tokens: float | None = None
    call_admitted_at: float | None = None
    call_tokens: int = 0
    in_flight_tokens: int = 0

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimitSnapshot:
        """Parse the OpenAI rate-limit headers (case-insensitive mapping expected); Azure
        OpenAI's (only ``x-ratelimit-remaining-requests`` / ``-tokens``) count too."""
        if not any(name in headers for name in _PRESENT):
            if any(_ANTHROPIC + k + "-limit" in headers for k in _ANTHROPIC_KINDS):
                return cls._from_anthropic(headers)
            return NO_LIMITS
        return cls(
            limit_requests=_int_header(headers, "x-ratelimit-limit-requests"),
            limit_tokens=_int_header(headers, "x-ratelimit-limit-tokens"),
            remaining_requests=_int_header(headers, "x-ratelimit-remaining-requests"),
            remaining_tokens=_int_header(headers, "x-ratelimit-remaining-tokens"),
            reset_requests=parse_duration(headers.get("x-ratelimit-reset-requests")),
            reset_tokens=parse_duration(headers.get("x-ratelimit-reset-tokens")),
        )

    @classmethod
    def _from_anthropic(cls, headers: Mapping[str, str]) -> RateLimitSnapshot:
        """Anthropic's ``anthropic-ratelimit-{requests,input-tokens,output-tokens}-*``."""
        a = _ANTHROPIC
        return cls(
            limit_requests=_int_header(headers, a + "requests-limit"),
            remaining_requests=_int_header(headers, a + "requests-remaining"),
            reset_requests=parse_rfc3339_reset(headers.get(a + "requests-reset")),
            limit_input_tokens=_int_header(headers, a + "input-tokens-limit"),
            remaining_input_tokens=_int_header(headers, a + "input-tokens-remaining"),
            reset_input_tokens=parse_rfc3339_reset(headers.get(a + "input-tokens-reset")),
            limit_output_tokens=_int_header(headers, a + "output-tokens-limit"),
            remaining_output_tokens=_int_header(headers, a + "output-tokens-remaining"),
            reset_output_tokens=parse_rfc3339_reset(headers.get(a + "output-tokens-reset")),
        )

    def provider_fields(self) -> tuple[float | None, ...]:
        """The provider's own fields, in order: ``RateLimitSnapshot(*fields)`` rebuilds the
        snapshot in another process (the rest are our limiter's)."""
        return tuple(getattr(self, name) for name in _PROVIDER_FIELDS)

    @property
    def present(self) -> bool:
        """True when the provider sent any rate-limit header."""
        return self is not NO_LIMITS and self != NO_LIMITS


NO_LIMITS = RateLimitSnapshot()
_PROVIDER_FIELDS = tuple(f.name for f in fields(RateLimitSnapshot))[:12]
