"""A continuously refilled token bucket: pure arithmetic on explicit timestamps.

``rate`` units per second flow in up to ``capacity``. A take larger than the capacity is
allowed only from a full bucket and leaves it in debt (negative level), so a large request is
never locked out and the long-run rate still holds. ``pause_until`` makes the bucket empty
until then (a provider's Retry-After). Nothing here reads a clock or knows about asyncio.

``lag``: the provider counts a call a little after we admit it (the request's trip). While
both buckets are full that delay is free for the provider's bucket — it stays full, its
refill wasted — but not for ours, which would start refilling at once and run ``rate * lag``
ahead of the provider after every idle-to-busy start (the source of first-second 429s). So a
take from a nearly full bucket delays our refill by ``lag``: a burst costs that much more,
the steady rate nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["TokenBucket"]

_EPSILON = 1e-9
"""Shortfalls this small count as none: float rounding must not schedule zero-length waits."""


@dataclass(slots=True)
class TokenBucket:
    """``rate`` per second, at most ``capacity`` banked; ``level`` as of time ``stamp``."""

    rate: float
    capacity: float
    level: float
    stamp: float
    pause_until: float = -math.inf
    hold_until: float = -math.inf
    """Admits nothing before this, but refills meanwhile (see :meth:`pause`)."""
    lag: float = 0.0
    refill_from: float = -math.inf

    @classmethod
    def full(cls, rate: float, capacity: float, now: float, lag: float = 0.0) -> TokenBucket:
        """A bucket that starts with its whole capacity available."""
        return cls(rate=rate, capacity=capacity, level=capacity, stamp=now, lag=lag)

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            start = max(self.stamp, self.pause_until, self.refill_from)
            if now > start:
                self.level = min(self.capacity, self.level + (now - start) * self.rate)
            self.stamp = now

    def need(self, amount: float) -> float:
        """The level that must be reached before ``amount`` may be taken."""
        return min(amount, self.capacity)

    def wait_time(self, amount: float, now: float) -> float:
        """Seconds from ``now`` until ``amount`` can be taken (0.0 = now)."""
        self._refill(now)
        missing = self.need(amount) - self.level
        paused = max(0.0, self.pause_until - now)
        held = self.hold_until - now  # refilling meanwhile
        if missing <= _EPSILON:
            return max(paused, held)
        if self.rate <= 0:
            return math.inf
        return max(held, max(paused, self.refill_from - now) + missing / self.rate)

    def take(self, amount: float, now: float) -> None:
        """Remove ``amount`` (callers check :meth:`wait_time` first; debt is allowed)."""
        self._refill(now)
        if self.lag > 0 and self.level >= self.capacity - self.rate * self.lag:
            self.refill_from = max(self.refill_from, now + self.lag)
        self.level -= amount

    def give(self, amount: float, now: float) -> None:
        """Return ``amount`` (a refund), never above capacity."""
        self._refill(now)
        self.level = max(self.level, min(self.capacity, self.level + amount))

    def deficit(self, now: float) -> float:
        """How far below full the bucket is at ``now`` (above capacity when in debt)."""
        self._refill(now)
        return self.capacity - self.level

    def pause(self, until: float, now: float, *, refilling: bool = False) -> None:
        """Admit nothing before ``until``; the bucket restarts empty from then on — or, when
        ``refilling``, empty now and refilled meanwhile (a provider whose Retry-After is
        when it will have room again for the refused call, like Anthropic's)."""
        self._refill(now)
        self.level = min(self.level, 0.0)
        if refilling:
            self.hold_until = max(self.hold_until, until)
        else:
            self.pause_until = max(self.pause_until, until)

    def clamp(self, level: float, now: float) -> None:
        """Lower the level to ``level`` if that is tighter than ours (provider feedback)."""
        self._refill(now)
        self.level = min(self.level, level)

    def reconfigure(self, rate: float, capacity: float, now: float) -> None:
        """Change the rate and capacity, keeping the current level (capped)."""
        self._refill(now)
        self.rate = rate
        self.capacity = capacity
        self.level = min(self.level, capacity)
