"""``UsageMeter``: successful LLM calls, their tokens and their cost, summed."""

from __future__ import annotations

from typing import Any

__all__ = ["UsageMeter"]


class UsageMeter:
    """Usage summed over successful LLM calls (of a run, a batch row or the whole process)."""

    __slots__ = (
        "cached_prompt_tokens",
        "completion_tokens",
        "cost_usd",
        "prompt_tokens",
        "requests",
        "retries",
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
