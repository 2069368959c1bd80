"""Helpers for the agent-loop tests: LLMs on the simulator with exact counts."""

from __future__ import annotations

from typing import Any

from fastcrew import LLM
from fastcrew.limits import RateLimit, RetryPolicy


def sim_llm(base_url: str, **kwargs: Any) -> LLM:
    """An LLM on a simulator: no limiter or retries of its own, so counts are exact."""
    kwargs.setdefault("retry", RetryPolicy(max_attempts=1))
    kwargs.setdefault("rate_limit", RateLimit(rpm=None, tpm=None))
    return LLM("openai/sim-model", base_url=base_url, **kwargs)
