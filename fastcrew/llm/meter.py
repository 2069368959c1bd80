"""Per-run usage metering: every successful LLM call adds its usage to the meter of the
context it runs in, if there is one.

A crew run counts its own usage (``Run``); a flow row calls LLMs from anywhere (crews inside
methods, direct ``llm.acall``), so the batch worker wraps each flow row in :func:`metered`
and reads the total. The context variable is copied into the tasks and threads the row
starts, so calls made there are counted too (the counters are plain ints: calls finishing in
the same instant on two threads could, in theory, lose an update). Cost when unused: one
``ContextVar.get`` per call.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from .types import ChatResponse

__all__ = ["UsageMeter", "metered", "record_usage"]


class UsageMeter:
    """Usage summed over the successful LLM calls of one run."""

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

    def add(self, resp: ChatResponse) -> None:
        """Count one successful call (and the retries it took)."""
        usage = resp.usage
        self.requests += 1
        self.retries += resp.retries
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        self.total_tokens += usage.total_tokens
        self.cached_prompt_tokens += usage.cached_prompt_tokens


_meter: ContextVar[UsageMeter | None] = ContextVar("fastcrew_usage_meter", default=None)


@contextmanager
def metered() -> Iterator[UsageMeter]:
    """Count the LLM calls made in this context (and the tasks it starts) until it exits."""
    meter = UsageMeter()
    token = _meter.set(meter)
    try:
        yield meter
    finally:
        _meter.reset(token)


def record_usage(resp: ChatResponse) -> None:
    """Add a successful call to the current meter (called by the LLM client)."""
    meter = _meter.get()
    if meter is not None:
        meter.add(resp)
