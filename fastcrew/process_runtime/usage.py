"""``UsageMeter``: successful LLM calls and their tokens, summed."""

from __future__ import annotations

from typing import Any

__all__ = ["UsageMeter"]


class UsageMeter:
    """Usage summed over successful LLM calls (of a run, a batch row or the whole process)."""

    __slots__ = (
        "cached_prompt_tokens",
        "completion_tokens",
        "prompt_tokens",
        "requests",
        "retries",
        "total_tokens",
    )

    def __init__(self) -> None:
        self.requests = self.retries = 0
        self.prompt_tokens = self.completion_tokens = 0
        self.total_tokens = self.cached_prompt_tokens = 0

    def add(self, resp: Any) -> None:
        """Count one successful call (and the retries it took)."""
        usage = resp.usage
        self.requests += 1
        self.retries += resp.retries
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        self.total_tokens += usage.total_tokens
        self.cached_prompt_tokens += usage.cached_prompt_tokens
