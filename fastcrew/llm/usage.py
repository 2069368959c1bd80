"""Token usage as CrewAI reports it: ``UsageMetrics`` (a run's, a crew's, an LLM object's) and
the per-LLM-object counter behind ``get_token_usage_summary()``."""

from __future__ import annotations

from pydantic import BaseModel

from .types import Usage

__all__ = ["TokenCounter", "UsageMetrics"]


class UsageMetrics(BaseModel):
    """Token usage of one run: the sum of what the provider reported for its calls."""

    total_tokens: int = 0
    prompt_tokens: int = 0
    cached_prompt_tokens: int = 0
    completion_tokens: int = 0
    successful_requests: int = 0
    retries: int = 0
    """Extra attempts the retry layer made for these calls (not in CrewAI)."""

    def add_usage_metrics(self, other: UsageMetrics) -> None:
        """Add another run's totals (CrewAI's name)."""
        self.total_tokens += other.total_tokens
        self.prompt_tokens += other.prompt_tokens
        self.cached_prompt_tokens += other.cached_prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.successful_requests += other.successful_requests
        self.retries += other.retries


class TokenCounter:
    """Cumulative usage of one LLM object's successful calls (plain ints: two calls finishing
    in the same instant on two threads could, in theory, lose an update)."""

    __slots__ = ("cached", "completion", "prompt", "requests", "total")

    def __init__(self) -> None:
        self.prompt = self.completion = self.total = self.cached = self.requests = 0

    def add(self, usage: Usage) -> None:
        """Count one successful call."""
        self.prompt += usage.prompt_tokens
        self.completion += usage.completion_tokens
        self.total += usage.total_tokens
        self.cached += usage.cached_prompt_tokens
        self.requests += 1

    def summary(self) -> dict[str, int]:
        """The totals under CrewAI's ``UsageMetrics`` field names."""
        return {
            "total_tokens": self.total,
            "prompt_tokens": self.prompt,
            "cached_prompt_tokens": self.cached,
            "completion_tokens": self.completion,
            "successful_requests": self.requests,
        }
