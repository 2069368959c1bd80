"""Rate-limit and retry settings: small frozen objects that pickle into worker processes."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from ..errors import ConfigurationError

__all__ = ["CHARGES", "DEFAULT_BURST_S", "Charge", "Limit", "RateLimit", "RetryPolicy"]

DEFAULT_BURST_S = 1.0

Limit = int | Literal["auto"] | None
Charge = Literal["max_tokens", "usage"]
CHARGES: tuple[Charge, ...] = ("max_tokens", "usage")


def _check_limit(name: str, value: Limit) -> None:
    if value is None or value == "auto":
        return
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigurationError(f"RateLimit {name} must be a positive integer, 'auto' or None")


@dataclass(frozen=True, slots=True)
class RateLimit:
    """The budget every LLM call to one endpoint shares.

    ``rpm`` / ``tpm``: requests and tokens per minute; ``"auto"`` (default) learns them from
    the provider's ``x-ratelimit-limit-*`` headers, ``None`` means no limit of ours (429s
    still pause the calls). ``itpm`` / ``otpm``: input (prompt) and output (answer) tokens
    per minute, budgets of their own (Anthropic's way; ``"auto"`` learns them from its
    ``anthropic-ratelimit-{input,output}-tokens-*`` headers). A call reserves its answer
    allowance from ``otpm`` and the rest of its tokens from ``itpm``; these two buckets hold
    a whole minute's worth, as Anthropic's do.
    ``max_concurrency``: calls in flight at once (None = no cap).
    ``burst``: seconds' worth of the rate that may be admitted at once (default 1 s; a
    provider that enforces per-second windows answers a minute's burst with 429s).

    ``charge``: how the provider counts a call against ``tpm``. ``"max_tokens"`` (default,
    OpenAI's and Azure's way): prompt + ``max_tokens`` at admission, and the unused part of
    ``max_tokens`` is *not* given back when the answer is shorter — so neither do we, unless
    the provider's own headers show it has more room. ``"usage"``: the provider counts the
    real prompt + completion, so the unused reservation is refunded at once.
    ``default_max_tokens``: what the provider charges for the answer of a call that sets no
    ``max_tokens`` (None = unknown: the largest answer seen so far, 256 before the first).
    """

    rpm: Limit = "auto"
    tpm: Limit = "auto"
    itpm: Limit = "auto"
    otpm: Limit = "auto"
    max_concurrency: int | None = None
    burst: float = DEFAULT_BURST_S
    charge: Charge = "max_tokens"
    default_max_tokens: int | None = None

    def __post_init__(self) -> None:
        _check_limit("rpm", self.rpm)
        _check_limit("tpm", self.tpm)
        _check_limit("itpm", self.itpm)
        _check_limit("otpm", self.otpm)
        if self.max_concurrency is not None and self.max_concurrency <= 0:
            raise ConfigurationError("RateLimit max_concurrency must be a positive integer")
        if not self.burst > 0:
            raise ConfigurationError("RateLimit burst must be a positive number of seconds")
        if self.charge not in CHARGES:
            raise ConfigurationError(
                f"RateLimit charge must be one of {', '.join(map(repr, CHARGES))}, "
                f"got {self.charge!r}"
            )
        value = self.default_max_tokens
        if value is not None and (type(value) is not int or value <= 0):
            raise ConfigurationError(
                f"RateLimit default_max_tokens must be a positive integer or None, got {value!r}"
            )


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """The one retry layer around each LLM call: exponential backoff with full jitter.

    Retries rate limits (after the limiter's pause), 5xx, timeouts, connection errors and
    malformed answers; never 4xx or quota exhaustion. ``max_attempts`` counts the first try;
    ``max_elapsed`` (seconds) bounds the whole call including waits.
    """

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_elapsed: float = 600.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigurationError("RetryPolicy max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.max_elapsed <= 0:
            raise ConfigurationError("RetryPolicy delays must be >= 0 and max_elapsed > 0")

    def backoff(self, retry: int, rng: random.Random) -> float:
        """Delay before retry number ``retry`` (1-based): uniform in [0, base·2^(retry-1)]."""
        return rng.uniform(0.0, min(self.max_delay, self.base_delay * 2 ** (retry - 1)))
