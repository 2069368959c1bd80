"""Token usage as CrewAI reports it: ``UsageMetrics`` (a run's, a crew's, an LLM object's) and
the per-LLM-object counter behind ``get_token_usage_summary()``."""

from __future__ import annotations

from pydantic import BaseModel

from .types import Usage

__all__ = ["TokenCounter", "UsageMetrics"]


class UsageMetrics(BaseModel):
    """Token usage of one run: the sum of what the provider reported for its calls, and
    what they cost."""

    total_tokens: int = 0
    prompt_tokens: int = 0
    cached_prompt_tokens: int = 0
    completion_tokens: int = 0
    successful_requests: int = 0
    retries: int = 0
    """Extra attempts the retry layer made for these calls (not in CrewAI)."""
    cost_usd: float = 0.0
    """What these calls cost, in USD (not in CrewAI; docs/cost.md). Calls with no known
    price count 0 here and are counted in ``unpriced_requests``."""
    unpriced_requests: int = 0
    """Successful calls whose cost is unknown (their model has no price, or the provider
    reported no usage), so a ``cost_usd`` of 0 is not mistaken for free (not in CrewAI)."""
    cache_hits: int = 0
    """Calls answered from the response cache: no request sent, no rate budget taken, cost
    0 (counted in ``successful_requests`` and the token counts too; not in CrewAI;
    docs/cache.md)."""
    cache_misses: int = 0
    """Calls that looked in the response cache, found nothing and were sent."""
    saved_usd: float = 0.0
    """What the cache hits would have cost at the prices in force (USD)."""

    def add_usage_metrics(self, other: UsageMetrics) -> None:
        """Add another run's totals (CrewAI's name)."""
        self.total_tokens += other.total_tokens
        self.prompt_tokens += other.prompt_tokens
        self.cached_prompt_tokens += other.cached_prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.successful_requests += other.successful_requests
        self.retries += other.retries
        self.cost_usd += other.cost_usd
        self.unpriced_requests += other.unpriced_requests
        self.cache_hits += other.cache_hits
        self.cache_misses += other.cache_misses
        self.saved_usd += other.saved_usd


class TokenCounter:
    """Cumulative usage of one LLM object's successful calls (plain ints: two calls finishing
    in the same instant on two threads could, in theory, lose an update)."""

    __slots__ = ("cached", "completion", "cost", "hits", "misses", "prompt", "requests", "saved",
                 "total", "unpriced")  # fmt: skip

    def __init__(self) -> None:
        self.prompt = self.completion = self.total = self.cached = self.requests = 0
        self.unpriced = self.hits = self.misses = 0
        self.cost = self.saved = 0.0

    def add(self, usage: Usage, cache: str | None = None, saved: float = 0.0) -> None:
        """Count one successful call (``cache``: ``"hit"``, ``"miss"`` or None)."""
        if cache is not None:
            if cache == "hit":
                self.hits += 1
                self.saved += saved
            else:
                self.misses += 1
        self.prompt += usage.prompt_tokens
        self.completion += usage.completion_tokens
        self.total += usage.total_tokens
        self.cached += usage.cached_prompt_tokens
        self.requests += 1
        if usage.priced:
            self.cost += usage.cost_usd
        else:
            self.unpriced += 1

    def summary(self) -> dict[str, float]:
        """The totals under CrewAI's ``UsageMetrics`` field names."""
        return {
            "total_tokens": self.total,
            "prompt_tokens": self.prompt,
            "cached_prompt_tokens": self.cached,
            "completion_tokens": self.completion,
            "successful_requests": self.requests,
            "cost_usd": self.cost,
            "unpriced_requests": self.unpriced,
            "cache_hits": self.hits,
            "cache_misses": self.misses,
            "saved_usd": self.saved,
        }
