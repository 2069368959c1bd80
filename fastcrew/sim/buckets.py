"""The simulator's own RPM/TPM limits: continuously refilled buckets and OpenAI's headers.

A limit of ``rate`` per minute is a bucket of capacity ``rate * window_s / 60`` (at least 1)
that refills at ``rate / 60`` per second and starts full. A request is admitted only if every
bucket holds what it asks for; then both are charged, else nothing is. A request asking for
more than a bucket's capacity can never pass ("request too large"). The clock is injectable
so the arithmetic is tested without sleeping; this module is independent of
``fastcrew.limits`` on purpose (the client's limiter is tested against it).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

__all__ = ["Bucket", "RateLimits", "Refusal", "format_duration", "refusal_message"]

LimitKind = Literal["requests", "tokens"]


def format_duration(seconds: float) -> str:
    """A duration as OpenAI's rate-limit headers write it: ``20ms``, ``1.5s``, ``6m0s``."""
    if seconds <= 0:
        return "0s"
    ms = math.ceil(seconds * 1000 - 1e-6)
    if ms < 1000:
        return f"{ms}ms"
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs = f"{rest / 1000:.3f}".rstrip("0").rstrip(".")
    out = f"{hours}h" if hours else ""
    if hours or minutes:
        out += f"{minutes}m"
    return f"{out}{secs}s"


class Bucket:
    """``capacity`` units refilled continuously at ``per_second``; times are explicit."""

    __slots__ = ("capacity", "level", "per_second", "stamp")

    def __init__(self, per_minute: float, window_s: float, now: float) -> None:
        self.per_second = per_minute / 60.0
        self.capacity = max(1.0, per_minute * window_s / 60.0)
        self.level = self.capacity
        self.stamp = now

    def refill(self, now: float) -> float:
        """Bring the level up to ``now`` and return it."""
        if now > self.stamp:
            self.level = min(self.capacity, self.level + (now - self.stamp) * self.per_second)
            self.stamp = now
        return self.level

    def wait(self, amount: float, now: float) -> float:
        """Seconds until ``amount`` fits (0 = now, ``inf`` = never: above capacity)."""
        if amount > self.capacity:
            return math.inf
        missing = amount - self.refill(now)
        return missing / self.per_second if missing > 0 else 0.0

    def take(self, amount: float, now: float) -> None:
        """Charge ``amount`` (callers check :meth:`wait` first)."""
        self.refill(now)
        self.level -= amount

    def give_back(self, amount: float, now: float) -> None:
        """Return ``amount`` charged too much (never above capacity)."""
        self.refill(now)
        self.level = min(self.capacity, self.level + amount)

    def time_to_full(self, now: float) -> float:
        """Seconds until the bucket is full again."""
        return (self.capacity - self.refill(now)) / self.per_second

    def fill(self, now: float) -> None:
        """Make the bucket full (a stats reset)."""
        self.level = self.capacity
        self.stamp = now


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request was refused: which limit, for how long, and the numbers for the message."""

    kind: LimitKind
    retry_after: float  # inf: the request is larger than the bucket, retrying cannot help
    limit: int
    used: int
    requested: int

    @property
    def too_large(self) -> bool:
        """True if no wait can make this request fit."""
        return math.isinf(self.retry_after)


class RateLimits:
    """Optional RPM and TPM buckets behind one ``admit`` call, plus the response headers."""

    def __init__(
        self,
        rpm: int | None,
        tpm: int | None,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rpm = rpm
        self.tpm = tpm
        self.clock = clock
        now = clock()
        self.requests = None if rpm is None else Bucket(rpm, window_s, now)
        self.tokens = None if tpm is None else Bucket(tpm, window_s, now)

    @property
    def enabled(self) -> bool:
        """True if at least one limit is configured."""
        return self.requests is not None or self.tokens is not None

    def admit(self, tokens: int) -> Refusal | None:
        """Charge one request and ``tokens`` tokens, or refuse (and charge nothing)."""
        now = self.clock()
        refusal: Refusal | None = None
        for kind, bucket, amount, limit in (
            ("requests", self.requests, 1, self.rpm),
            ("tokens", self.tokens, tokens, self.tpm),
        ):
            if bucket is None or limit is None:
                continue
            wait = bucket.wait(amount, now)
            if wait > 0 and (refusal is None or wait > refusal.retry_after):
                used = round(bucket.capacity - bucket.level)
                refusal = Refusal(kind, wait, limit, used, amount)  # type: ignore[arg-type]
        if refusal is None:
            if self.requests is not None:
                self.requests.take(1, now)
            if self.tokens is not None:
                self.tokens.take(tokens, now)
        return refusal

    def headers(self, remaining_only: bool = False) -> dict[str, str]:
        """The ``x-ratelimit-*`` headers for the configured limits, as of now
        (``remaining_only``: Azure OpenAI's two, ``x-ratelimit-remaining-*``)."""
        now = self.clock()
        out: dict[str, str] = {}
        for kind, bucket, limit in (
            ("requests", self.requests, self.rpm),
            ("tokens", self.tokens, self.tpm),
        ):
            if bucket is None:
                continue
            level = bucket.refill(now)
            out[f"x-ratelimit-remaining-{kind}"] = str(max(0, math.floor(level)))
            if not remaining_only:
                out[f"x-ratelimit-limit-{kind}"] = str(limit)
                out[f"x-ratelimit-reset-{kind}"] = format_duration(bucket.time_to_full(now))
        return out

    def reset(self) -> None:
        """Refill every bucket."""
        now = self.clock()
        for bucket in (self.requests, self.tokens):
            if bucket is not None:
                bucket.fill(now)


def refusal_message(refusal: Refusal, model: str) -> tuple[str, dict[str, str] | None]:
    """OpenAI's 429 message for ``refusal`` and its ``retry-after`` / ``retry-after-ms``
    headers (none for a request that can never fit)."""
    unit = "requests per min (RPM)" if refusal.kind == "requests" else "tokens per min (TPM)"
    if refusal.too_large:
        message = (
            f"Request too large for {model} on {unit}: Limit {refusal.limit}, "
            f"Requested {refusal.requested}. The input or output tokens must be reduced "
            "in order to run successfully."
        )
        return message, None
    message = (
        f"Rate limit reached for {model} on {unit}: Limit {refusal.limit}, "
        f"Used {refusal.used}, Requested {refusal.requested}. "
        f"Please try again in {format_duration(refusal.retry_after)}."
    )
    headers = {
        "retry-after": str(math.ceil(refusal.retry_after)),
        "retry-after-ms": str(math.ceil(refusal.retry_after * 1000)),
    }
    return message, headers
