"""Cutting queued texts into requests: at most so many inputs and so many (estimated)
tokens each."""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

__all__ = ["MAX_INPUTS", "MAX_REQUEST_TOKENS", "Queued", "estimate_tokens", "fits", "take_batch"]

MAX_INPUTS = 2048
"""OpenAI's most inputs in one embeddings request."""
MAX_REQUEST_TOKENS = 300_000
"""OpenAI's most tokens in one embeddings request (all inputs together)."""


class Queued(NamedTuple):
    """A text waiting to be sent: its content key, the text, its estimated tokens."""

    key: bytes
    text: str
    tokens: int


def estimate_tokens(text: str) -> int:
    """A text's tokens as the limiter reserves them: its UTF-8 bytes / 4 (at least 1)."""
    return max(1, (len(text.encode()) + 3) // 4)


def fits(count: int, total: int, tokens: int, max_inputs: int, max_tokens: int) -> bool:
    """Whether a text of ``tokens`` joins a request of ``count`` texts and ``total`` tokens:
    while under ``max_inputs`` and ``max_tokens`` — and always into an empty one, even over
    ``max_tokens`` (the provider judges it)."""
    return count == 0 or (count < max_inputs and total + tokens <= max_tokens)


def take_batch(
    queue: deque[Queued], max_inputs: int = MAX_INPUTS, max_tokens: int = MAX_REQUEST_TOKENS
) -> list[Queued]:
    """The next request's texts, taken from the head of a non-empty ``queue``: at most
    ``max_inputs`` of them and ``max_tokens`` tokens together — but always one, even over
    ``max_tokens`` (the provider judges it)."""
    batch = [queue.popleft()]
    total = batch[0].tokens
    while queue and fits(len(batch), total, queue[0].tokens, max_inputs, max_tokens):
        total += queue[0].tokens
        batch.append(queue.popleft())
    return batch
