"""``UsageMeter``: successful LLM calls, their tokens and their cost, summed."""

from __future__ import annotations

from typing import Any

__all__ = ["UsageMeter"]


class UsageMeter:
    """Usage summed over successful LLM calls (of a run, a batch row or the whole process)."""

    __slots__ = (
        "cache_hits",
        "cache_misses",
        "cached_prompt_tokens",
        "completion_tokens",
        "cost_usd",
        "prompt_tokens",
        "requests",
        "retries",
        "saved_usd",
        "total_tokens",
        "unpriced_requests",
    )

    def __init__(self) -> None:
        self.requests = self.retries = 0
        self.prompt_tokens = self.completion_tokens = 0
        self.total_tokens = self.cached_prompt_tokens = 0
        self.cost_usd = 0.0
        """USD, summed over the priced calls (``usage.priced``)."""
        self.unpriced_requests = 0
        """Calls whose cost is unknown (no price for the model, or no usage reported)."""
        self.cache_hits = self.cache_misses = 0
        """Calls answered from the response cache (no request sent; counted in
        ``requests`` too, at cost 0), and calls that looked in it and were sent."""
        self.saved_usd = 0.0
        """What the cache hits would have cost (USD)."""

    def add(self, resp: Any) -> None:
        """Count one successful call (the retries it took, its cost)."""
        usage = resp.usage
        self.requests += 1
        self.retries += resp.retries
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        self.total_tokens += usage.total_tokens
        self.cached_prompt_tokens += usage.cached_prompt_tokens
        if usage.priced:
            self.cost_usd += usage.cost_usd
        else:
            self.unpriced_requests += 1
        cache = getattr(resp, "cache", None)
        if cache is not None:
            if cache == "hit":
                self.cache_hits += 1
                self.saved_usd += resp.saved_usd
            else:
                self.cache_misses += 1
