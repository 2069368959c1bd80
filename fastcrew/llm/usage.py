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


class TokenCounter:
    """Cumulative usage of one LLM object's successful calls (plain ints: two calls finishing
    in the same instant on two threads could, in theory, lose an update)."""

    __slots__ = ("cached", "completion", "cost", "prompt", "requests", "total", "unpriced")

    def __init__(self) -> None:
        self.prompt = self.completion = self.total = self.cached = self.requests = 0
        self.unpriced = 0
        self.cost = 0.0

    def add(self, usage: Usage) -> None:
        """Count one successful call."""
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
        }
