"""The one retry layer (:func:`with_retries`: admission by the limiter per attempt, 429
pauses, backoff; used by chat calls and embeddings) and one chat call's retrying send: a POST
(or an opened stream) per attempt, settling the reservation with the answer's real usage."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import LLMError, QuotaExhaustedError, RateLimitError
from ..limits import Lease, Limiter, RetryPolicy
from .anthropic import anthropic_error
from .meter import record_retries, record_usage
from .stream import ChatStream
from .types import ChatResponse
from .wire import error_from_response

if TYPE_CHECKING:
    from ..cache import ResponseCache
    from .client import LLM

__all__ = ["send_with_retries", "with_retries"]

T = TypeVar("T")


async def send_with_retries(
    llm: LLM,
    limiter: Limiter,
    body: bytes,
    estimate: int,
    allowance: int,
    stream: bool,
    cache: ResponseCache | None,
    key: bytes | None,
    n: Any,
) -> ChatResponse | ChatStream:
    """Send ``body`` through ``limiter`` (``estimate`` tokens reserved, ``allowance`` of them
    for the answer) under ``llm.retry``; a miss of the response cache (``key``) is stored
    once answered."""

    async def attempt(lease: Lease, retries: int) -> ChatResponse | ChatStream:
        if stream:
            return await _open_stream(llm, body, limiter, lease, retries, cache, key, n)
        resp = await llm._post(body)
        if key is not None:
            assert cache is not None
            assert resp.raw is not None
            resp.cache = "miss"
            cache.put_later(key, resp.raw, cost_usd=resp.usage.cost_usd)
        _finish(limiter, lease, resp, retries)
        llm._usage.add(resp.usage, resp.cache)
        return resp

    return await with_retries(limiter, llm.retry, estimate, allowance, attempt, record_retries)


_JITTER = random.Random()
"""The backoff jitter of every retry."""


async def with_retries(
    limiter: Limiter,
    policy: RetryPolicy,
    estimate: int,
    allowance: int,
    attempt: Callable[[Lease, int], Awaitable[T]],
    failed: Callable[[int], None] | None = None,
) -> T:
    """The one retry layer around a call: each try is admitted by ``limiter`` (``estimate``
    tokens reserved, ``allowance`` of them for the answer), then ``attempt(lease, retries so
    far)`` sends it and, when it succeeds, settles ``lease``. A failed try's lease is settled
    here: a 429 is refunded and pauses every caller, quota exhaustion stops the limiter, a
    retryable error waits ``policy.backoff`` (with jitter). ``failed(retries)`` is
    told the retries of a call that fails for good."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + policy.max_elapsed
    tries = 0
    try:
        while True:
            if tries:  # every attempt after the first, whatever failed before it
                limiter.stats.retries += 1
            tries += 1
            lease = await limiter.acquire(estimate, completion=allowance)
            try:
                return await attempt(lease, tries - 1)
            except RateLimitError as exc:
                lease.refuse()
                wait = limiter.rate_limited(exc)  # every caller now waits out the pause
                if tries >= policy.max_attempts or loop.time() + wait > deadline:
                    raise
                delay = 0.0
            except QuotaExhaustedError as exc:
                lease.refuse()
                limiter.exhaust(exc)
                raise
            except LLMError as exc:
                lease.settle(None)
                if not exc.retryable or tries >= policy.max_attempts:
                    raise
                delay = policy.backoff(tries, _JITTER)
                if loop.time() + delay > deadline:
                    raise
            except BaseException:
                lease.settle(None)
                raise
            if delay:
                await asyncio.sleep(delay)
    except BaseException as exc:
        # A failed call's retries count too (a successful one's come with its response).
        if isinstance(exc, LLMError):
            exc.attempts = tries
        if failed is not None:
            failed(tries - 1)
        raise


async def _open_stream(
    llm: LLM,
    body: bytes,
    limiter: Limiter,
    lease: Lease,
    retries: int,
    cache: ResponseCache | None = None,
    key: bytes | None = None,
    n: Any = None,
) -> ChatStream:
    """Open the stream; its end settles the lease (and stores a cache miss)."""
    decode = None
    if llm._anthropic:  # Anthropic's Messages wire (llm/anthropic.py)
        from .anthropic_stream import AnthropicStreamDecoder

        decode = AnthropicStreamDecoder()
    handle = await llm._transport.open_stream(llm._url, body, await llm._request_headers())
    if handle.status >= 300:
        raw = await handle.read()
        error = anthropic_error if llm._anthropic else error_from_response
        raise error(handle.status, raw, handle.headers, llm._api_key)

    def done(resp: ChatResponse | None) -> None:
        if resp is None:
            lease.settle(None)
            record_retries(retries)
        else:
            if key is not None:
                assert cache is not None
                from .cached import store_stream

                store_stream(cache, key, resp, n)
            _finish(limiter, lease, resp, retries)
            llm._usage.add(resp.usage, resp.cache)

    return ChatStream(handle, done, llm._api_key, llm._pricer, decode)


def _finish(limiter: Limiter, lease: Lease, resp: ChatResponse, retries: int) -> None:
    """Settle a successful call with its real usage, learn from its headers, meter it."""
    resp.retries = retries
    record_usage(resp)
    usage = resp.usage
    if usage.prompt_tokens or usage.completion_tokens:
        lease.settle_usage(usage.prompt_tokens, usage.completion_tokens)
    else:  # only a total, or no usage at all (then the reservation stands)
        lease.settle(usage.total_tokens or None)
    if usage.completion_tokens:
        limiter.record_completion(usage.completion_tokens)
    limiter.observe(resp.rate_limits, lease)
