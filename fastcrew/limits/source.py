"""Budget sources: where a limiter's request and token capacity comes from.

The :class:`~fastcrew.limits.limiter.Limiter` owns the queue (FIFO, concurrency slots,
timers); a budget source owns the amounts. :class:`LocalBudget` refills two token buckets
with time. A source fed from elsewhere (a supervisor leasing slices of a global budget to
worker processes, a Ray actor) implements the same protocol and calls the waker it was given
when capacity arrives out of band.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from typing import Literal, Protocol

from .bucket import TokenBucket
from .config import RateLimit
from .snapshot import RateLimitSnapshot

__all__ = ["DEFAULT_LAG_S", "BudgetSource", "LimitKind", "LocalBudget"]

LimitKind = Literal["requests", "tokens", "input_tokens", "output_tokens"]
"""Which budget a 429 names: ``input_tokens`` / ``output_tokens`` are Anthropic's."""

DEFAULT_LAG_S = 0.25
"""How much later than our admission a provider may count a call (see ``TokenBucket.lag``):
the first calls of a burst open connections. At most a quarter of the ``burst``."""
SPLIT_BURST_S = 60.0
"""Seconds' worth the input and output buckets hold: Anthropic's token buckets fill up to the
whole per-minute limit, and charge a call's ``max_tokens`` at admission (refunded when it
ends), so a smaller bucket would admit far fewer calls at once than the provider does."""
_REFILLING = ("input_tokens", "output_tokens")
"""Buckets that refill while a 429 pauses them: a minute's bucket restarted empty would
take up to a minute to admit a large call again; Anthropic's Retry-After says when its
bucket has room for it."""
TAKE_LOG = 4096
"""Token takes remembered to tell which admissions a provider's headers may not include."""


class BudgetSource(Protocol):
    """Capacity for LLM calls, in requests and tokens. All times are the limiter's clock.

    A call's tokens are its whole reservation, ``output`` of them its answer allowance (the
    rest is its input): a source with separate input and output budgets splits them so.
    """

    @property
    def limit(self) -> RateLimit:
        """The limit in force (the limiter reads its charging model from it)."""
        ...

    def wait_time(self, tokens: int, now: float, output: int = 0) -> float:
        """Seconds until one request with ``tokens`` (``output`` of them for the answer) may
        be admitted (0.0 = now, inf = unknown until the source calls its waker)."""
        ...

    def take(self, tokens: int, now: float, output: int = 0) -> None:
        """Admit one request reserving ``tokens`` (``output`` of them for the answer)."""
        ...

    def adjust(self, requests: int, tokens: int, now: float, output: int = 0) -> None:
        """Correct an earlier take: positive amounts are refunded, negative ones charged
        (``output`` of ``tokens`` are answer tokens)."""
        ...

    def pause(self, kind: LimitKind | None, until: float, now: float) -> None:
        """Admit nothing from the ``kind`` bucket (both when None) before ``until``."""
        ...

    def observe(self, snapshot: RateLimitSnapshot, now: float) -> None:
        """Take the provider's view from response headers (tighten, learn 'auto' limits)."""
        ...

    def set_waker(self, wake: Callable[[], None]) -> None:
        """Give the source a callback to run when capacity arrives out of band."""
        ...


class LocalBudget:
    """A process-local budget: requests, tokens, input- and output-tokens buckets refilled
    with time (``lag``: see :class:`~fastcrew.limits.TokenBucket`); a limit that is neither
    set nor learned has no bucket."""

    def __init__(self, limit: RateLimit, now: float, *, lag: float = DEFAULT_LAG_S) -> None:
        self.limit = limit
        self._burst = limit.burst
        self._lag = min(lag, limit.burst / 4)  # the band it guards is at most 1/4 of a burst
        self.requests = self._bucket(limit.rpm, now)
        self.tokens = self._bucket(limit.tpm, now)
        self.input = self._bucket(limit.itpm, now, SPLIT_BURST_S)
        self.output = self._bucket(limit.otpm, now, SPLIT_BURST_S)
        self._auto_rpm = limit.rpm == "auto"
        self._auto_tpm = limit.tpm == "auto"
        self._auto_itpm = limit.itpm == "auto"
        self._auto_otpm = limit.otpm == "auto"
        # When tokens were taken, and the running total (for "taken since a call's admission").
        self._took_at: list[float] = []
        self._took_upto: list[float] = []
        self._took_before = 0.0
        self._took = 0.0
        self._paused_at = -math.inf

    def _bucket(self, per_minute: object, now: float, burst: float = 0.0) -> TokenBucket | None:
        if not isinstance(per_minute, int):
            return None
        rate = per_minute / 60.0
        capacity = max(1.0, rate * max(burst, self._burst))
        return TokenBucket.full(rate, capacity, now, self._lag)

    def set_waker(self, wake: Callable[[], None]) -> None:
        """Local buckets refill with time; nothing arrives out of band."""

    def wait_time(self, tokens: int, now: float, output: int = 0) -> float:
        wait = 0.0
        if self.requests is not None:
            wait = self.requests.wait_time(1, now)
        if self.tokens is not None:
            wait = max(wait, self.tokens.wait_time(tokens, now))
        if self.input is not None:
            wait = max(wait, self.input.wait_time(tokens - output, now))
        if self.output is not None:
            wait = max(wait, self.output.wait_time(output, now))
        return wait

    def take(self, tokens: int, now: float, output: int = 0) -> None:
        if self.requests is not None:
            self.requests.take(1, now)
        if self.input is not None:
            self.input.take(tokens - output, now)
        if self.output is not None:
            self.output.take(output, now)
        if self.tokens is not None:
            self.tokens.take(tokens, now)
            self._took += tokens
            self._took_at.append(now)
            self._took_upto.append(self._took)
            if len(self._took_at) > TAKE_LOG:
                half = TAKE_LOG // 2
                self._took_before = self._took_upto[half - 1]
                del self._took_at[:half], self._took_upto[:half]

    def adjust(self, requests: int, tokens: int, now: float, output: int = 0) -> None:
        if requests and self.requests is not None:
            _correct(self.requests, requests, now)
        if tokens and self.tokens is not None:
            _correct(self.tokens, tokens, now)
        if self.input is not None and tokens != output:
            _correct(self.input, tokens - output, now)
        if output and self.output is not None:
            _correct(self.output, output, now)

    def pause(self, kind: LimitKind | None, until: float, now: float) -> None:
        for name, bucket in self.buckets():
            if kind in (None, name) and bucket is not None:
                bucket.pause(until, now, refilling=name in _REFILLING)
        if kind in (None, "tokens"):
            self._paused_at = now  # headers written before this 429 are stale

    def buckets(self) -> tuple[tuple[LimitKind, TokenBucket | None], ...]:
        """Each budget's bucket by kind (None: no limit set or learned)."""
        return (
            ("requests", self.requests),
            ("tokens", self.tokens),
            ("input_tokens", self.input),
            ("output_tokens", self.output),
        )

    @property
    def limited(self) -> bool:
        """Whether any bucket is set or learned."""
        return any(bucket is not None for _, bucket in self.buckets())

    def observe(self, snapshot: RateLimitSnapshot, now: float) -> None:
        if not snapshot.present:
            return
        self.requests = self._follow(
            self.requests,
            self._auto_rpm,
            snapshot.limit_requests,
            snapshot.remaining_requests,
            now,
        )
        self.tokens = self._follow(self.tokens, self._auto_tpm, snapshot.limit_tokens, None, now)
        self.input = self._follow(
            self.input,
            self._auto_itpm,
            snapshot.limit_input_tokens,
            snapshot.remaining_input_tokens,
            now,
            SPLIT_BURST_S,
        )
        self.output = self._follow(
            self.output,
            self._auto_otpm,
            snapshot.limit_output_tokens,
            snapshot.remaining_output_tokens,
            now,
            SPLIT_BURST_S,
        )
        if self.tokens is not None:
            self._take_back(self.tokens, snapshot, now)
            if snapshot.remaining_tokens is not None:
                self.tokens.clamp(float(snapshot.remaining_tokens), now)

    def _take_back(self, bucket: TokenBucket, snapshot: RateLimitSnapshot, now: float) -> None:
        """Where the provider counts less than we do — it refunded unused ``max_tokens``, or
        charges a smaller default — follow it: its deficit is ``reset-tokens`` * its rate, to
        which we add everything it may not have counted yet (our admissions since the call's,
        and our other calls in flight). Only when its rate is ours, never from headers older
        than a 429."""
        admitted_at = snapshot.call_admitted_at
        limit = snapshot.limit_tokens
        reset = snapshot.reset_tokens
        if admitted_at is None or reset is None or not limit or admitted_at <= self._paused_at:
            return
        if not math.isclose(limit / 60.0, bucket.rate):
            return
        i = bisect.bisect_left(self._took_at, admitted_at)
        if i == 0 and self._took_before:
            return  # older than the log: unknown what the provider has seen
        since = self._took - (self._took_upto[i - 1] if i else self._took_before)
        unseen = max(0.0, since - snapshot.call_tokens) + snapshot.in_flight_tokens
        excess = bucket.deficit(now) - unseen - reset * bucket.rate
        if excess > 0:
            bucket.give(excess, now)

    def _follow(
        self,
        bucket: TokenBucket | None,
        auto: bool,
        limit: int | None,
        remaining: int | None,
        now: float,
        burst: float = 0.0,
    ) -> TokenBucket | None:
        if auto and limit:
            rate = limit / 60.0
            capacity = max(1.0, rate * max(burst, self._burst))
            if bucket is None:
                bucket = TokenBucket.full(rate, capacity, now, self._lag)
            elif not math.isclose(bucket.rate, rate):
                bucket.reconfigure(rate, capacity, now)
        if bucket is not None and remaining is not None:
            # The provider may count calls we did not make (other clients on the same key):
            # never hold more than it says is left.
            bucket.clamp(float(remaining), now)
        return bucket


def _correct(bucket: TokenBucket, amount: float, now: float) -> None:
    """Refund a positive ``amount``, charge a negative one."""
    if amount > 0:
        bucket.give(amount, now)
    else:
        bucket.take(-amount, now)
