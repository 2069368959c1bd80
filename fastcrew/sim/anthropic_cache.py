"""Anthropic prompt caching and rate limits, on injectable clocks.

**Caching.** A ``cache_control`` breakpoint makes the prompt's prefix up to and including its
block cacheable (prefix order: tools → system → messages; the key also holds the model). A
prefix shorter than ``min_tokens`` is never cached. For a request, ``read`` is the longest
breakpoint prefix found unexpired; ``creation`` is the last breakpoint's prefix minus
``read`` when that prefix was not found. After an answer every eligible prefix is stored (or
refreshed) until ``now + ttl`` (5 minutes, or 1 hour with ``ttl: "1h"``).

**Rate limits.** Three buckets as Anthropic meters them: requests, input tokens (uncached
input + cache creation; cache reads are free) and output tokens (``max_tokens`` charged on
admission, the unused part given back when the answer is known). Headers report each bucket
with its reset as an RFC 3339 time.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from .anthropic_request import Segment
from .buckets import Bucket

__all__ = ["AnthropicLimits", "LimitRefusal", "PromptCache", "rfc3339"]


class PromptCache:
    """Cached prefixes: hash → expiry (Unix seconds on ``clock``)."""

    def __init__(self, min_tokens: int, clock: Callable[[], float]) -> None:
        self.min_tokens = min_tokens
        self.clock = clock
        self.entries: dict[bytes, float] = {}

    def breakpoints(
        self, model: str, segments: Sequence[Segment]
    ) -> list[tuple[bytes, int, float]]:
        """``(prefix hash, prefix tokens, ttl)`` of each eligible breakpoint, in order."""
        digest = hashlib.blake2b(model.encode(), digest_size=16)
        tokens = 3
        out: list[tuple[bytes, int, float]] = []
        for segment in segments:
            digest.update(segment.key)
            tokens += segment.tokens
            if segment.ttl is not None and tokens >= self.min_tokens:
                out.append((digest.copy().digest(), tokens, segment.ttl))
        return out

    def lookup(self, points: Sequence[tuple[bytes, int, float]]) -> tuple[int, int]:
        """``(cache_read, cache_creation)`` tokens of a request with these breakpoints."""
        if not points:
            return 0, 0
        now = self.clock()
        read = 0
        for key, tokens, _ in points:
            expiry = self.entries.get(key)
            if expiry is not None and expiry > now:
                read = tokens
        last = points[-1][1]
        return read, (last - read if read < last else 0)

    def store(self, points: Sequence[tuple[bytes, int, float]]) -> None:
        """Store or refresh every prefix (after a 200 answer); drop the expired ones."""
        now = self.clock()
        if len(self.entries) > 10_000:
            self.entries = {k: v for k, v in self.entries.items() if v > now}
        for key, _, ttl in points:
            self.entries[key] = max(self.entries.get(key, 0.0), now + ttl)

    def clear(self) -> None:
        """Forget every prefix."""
        self.entries.clear()


def rfc3339(unix: float) -> str:
    """``2026-01-01T12:00:05Z``: ``unix`` rounded up to the second, UTC."""
    return datetime.fromtimestamp(math.ceil(unix), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class LimitRefusal:
    """A 429: which limit (``requests`` / ``input_tokens`` / ``output_tokens``) and the wait."""

    __slots__ = ("kind", "limit", "retry_after")

    def __init__(self, kind: str, limit: int, retry_after: float) -> None:
        self.kind, self.limit, self.retry_after = kind, limit, retry_after


class AnthropicLimits:
    """Optional RPM, ITPM and OTPM buckets (capacity ``rate * window / 60``, like RPM/TPM)."""

    KINDS = ("requests", "input_tokens", "output_tokens")

    def __init__(
        self,
        rpm: int | None,
        itpm: int | None,
        otpm: int | None,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.clock, self.wall = clock, wall
        now = clock()
        self.limits = dict(zip(self.KINDS, (rpm, itpm, otpm), strict=True))
        self.buckets = {
            kind: Bucket(limit, window_s, now)
            for kind, limit in self.limits.items()
            if limit is not None
        }

    @property
    def enabled(self) -> bool:
        """True if at least one limit is configured."""
        return bool(self.buckets)

    def admit(self, input_tokens: int, max_tokens: int) -> LimitRefusal | None:
        """Charge 1 request, the input and ``max_tokens`` output tokens, or refuse (none)."""
        now = self.clock()
        amounts = {"requests": 1, "input_tokens": input_tokens, "output_tokens": max_tokens}
        refusal: LimitRefusal | None = None
        for kind, bucket in self.buckets.items():
            wait = bucket.wait(amounts[kind], now)
            if wait > 0 and (refusal is None or wait > refusal.retry_after):
                refusal = LimitRefusal(kind, self.limits[kind] or 0, wait)
        if refusal is None:
            for kind, bucket in self.buckets.items():
                bucket.take(amounts[kind], now)
        return refusal

    def settle(self, max_tokens: int, output_tokens: int) -> None:
        """Give back the output tokens charged but not generated."""
        bucket = self.buckets.get("output_tokens")
        if bucket is not None and max_tokens > output_tokens:
            bucket.give_back(max_tokens - output_tokens, self.clock())

    def headers(self) -> dict[str, str]:
        """``anthropic-ratelimit-{kind}-{limit,remaining,reset}`` of the configured limits."""
        now, wall = self.clock(), self.wall()
        out: dict[str, str] = {}
        for kind, bucket in self.buckets.items():
            name = f"anthropic-ratelimit-{kind.replace('_', '-')}"
            out[f"{name}-limit"] = str(self.limits[kind])
            out[f"{name}-remaining"] = str(max(0, math.floor(bucket.refill(now))))
            out[f"{name}-reset"] = rfc3339(wall + bucket.time_to_full(now))
        return out

    def reset(self) -> None:
        """Refill every bucket."""
        now = self.clock()
        for bucket in self.buckets.values():
            bucket.fill(now)
