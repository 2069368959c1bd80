"""The LLM client's side of the response cache (docs/cache.md, "Using it").

Imported only when a cache is in use (``fastcrew.cache`` brings ``sqlite3``): which cache a
call uses and its key, the answer a hit becomes (parsed by the client's own parser, at cost
0, with what it would have cost as ``saved_usd``) and the whole body a streamed miss is
stored as.

Anthropic (docs/cache.md, "Anthropic and Azure"): the key is the Messages body sent, the value of a
plain miss the Messages body received (parsed back by ``parse_message``), of a streamed miss
the equivalent chat completion, as for OpenAI; a hit tells the two apart by their shape.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from .._json import JSONDecodeError, dumps, loads
from ..cache import ResponseCache, request_key
from ..errors import ConfigurationError
from ..process_runtime import get_runtime
from .anthropic import parse_message
from .cache_replay import ReplayStream
from .stream import ChatStream
from .types import NO_USAGE, ChatResponse, Usage
from .wire import parse_completion

__all__ = ["CacheSpec", "answer_hit", "check_spec", "completion_of_stream", "free",
           "hit_response", "is_messages_body", "look_up", "open_cache",
           "store_stream"]  # fmt: skip

Pricer = Callable[[Usage, "str | None"], Usage]

CacheSpec = str | ResponseCache
"""What ``LLM(cache=...)`` keeps: a path (the process's one cache for it) or a cache."""

_NO_HEADERS: dict[str, str] = {}


def check_spec(cache: Any) -> CacheSpec | None:
    """``LLM(cache=...)`` as kept: a path string or a :class:`ResponseCache` (None: none).
    A path is opened now (once per process), so a damaged file fails at construction."""
    if cache is None or isinstance(cache, ResponseCache):
        return cache
    if isinstance(cache, (str, os.PathLike)):
        path = os.fspath(cache)
        if path:
            open_cache(path)
            return path
    raise ConfigurationError(
        f"LLM cache must be a file path or a fastcrew.cache.ResponseCache, not {cache!r}"
    )


def open_cache(spec: CacheSpec) -> ResponseCache:
    """The cache for ``spec``: a path's is the process runtime's one for that path."""
    if isinstance(spec, ResponseCache):
        return spec
    return get_runtime().cache_for(spec, ResponseCache)


def look_up(
    spec: CacheSpec | None, url: str, payload: dict[str, Any]
) -> tuple[ResponseCache, bytes, bytes | None]:
    """(the call's cache: the LLM's own ``spec`` else the runtime's default, the request's
    key — ``payload`` as sent, an Anthropic LLM's as its Messages body —, the stored answer
    or None)."""
    if spec is None:
        spec = get_runtime().cache
        assert spec is not None
    cache = open_cache(spec)
    key = request_key(url, payload)
    return cache, key, cache.get(key)


def answer_hit(
    stored: bytes,
    stream: bool,
    price: Pricer,
    secret: str | None,
    count: Callable[[ChatResponse], None],
    anthropic: bool = False,
) -> ChatResponse | ChatStream:
    """A hit's answer, plain or replayed as a stream, ``count``-ed once it is whole.
    ``anthropic``: the LLM's wire, whose plain answers are stored as Messages bodies."""
    messages = anthropic and is_messages_body(stored)
    resp = hit_response(stored, price, messages)
    if not stream:
        count(resp)
        return resp

    def done(streamed: ChatResponse | None) -> None:
        if streamed is not None:  # read to its end
            streamed.cache, streamed.saved_usd = "hit", resp.saved_usd
            count(streamed)

    def usage(_usage: Usage, _model: str | None) -> Usage:  # the stored answer's, exactly
        return resp.usage

    replay = completion_of_stream(resp) if messages else stored
    return ChatStream(ReplayStream(replay), done, secret, usage)


def is_messages_body(stored: bytes) -> bool:
    """Whether a stored answer is an Anthropic Messages body (not a chat completion)."""
    try:
        data = loads(stored)
    except JSONDecodeError:
        return False  # parse_completion says what is wrong with it
    return isinstance(data, dict) and data.get("type") == "message"


def store_stream(cache: ResponseCache, key: bytes, resp: ChatResponse, n: Any) -> None:
    """A streamed miss, whole: stored as the equivalent non-streaming body (not with ``n`` >
    1: a stream carries choice 0 only)."""
    resp.cache = "miss"
    if n in (None, 1):
        cache.put_later(key, completion_of_stream(resp), cost_usd=resp.usage.cost_usd)


def free(usage: Usage) -> Usage:
    """``usage`` (priced) as a hit's: the same tokens at cost 0 (a known cost)."""
    if usage is NO_USAGE:
        return usage
    return replace(usage, cost_usd=0.0, priced=True)


def hit_response(stored: bytes, price: Pricer, messages: bool = False) -> ChatResponse:
    """A stored answer as the client would have parsed it from the wire (``raw`` is the
    stored bytes; ``messages``: a Messages body), at cost 0; ``saved_usd`` is what it would
    cost at today's prices."""
    resp = (parse_message if messages else parse_completion)(stored, _NO_HEADERS)
    usage = price(resp.usage, resp.model)
    resp.saved_usd = usage.cost_usd if usage.priced else 0.0
    resp.usage = free(usage)
    resp.cache = "hit"
    return resp


def _wire_usage(usage: Usage) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }
    if usage.cached_prompt_tokens:
        wire["prompt_tokens_details"] = {"cached_tokens": usage.cached_prompt_tokens}
    if usage.reasoning_tokens:
        wire["completion_tokens_details"] = {"reasoning_tokens": usage.reasoning_tokens}
    return wire


def completion_of_stream(resp: ChatResponse) -> bytes:
    """The non-streaming chat-completion body equivalent to an answer: what a streamed miss
    is stored as (a later plain call of the same request gets it whole), and what a stored
    Messages body is replayed from as a stream."""
    message: dict[str, Any] = {"role": "assistant", "content": resp.content}
    if resp.tool_calls:
        message["tool_calls"] = resp.tool_calls
        message["content"] = resp.content or None
    body: dict[str, Any] = {
        "id": resp.id or resp.request_id or "",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": resp.model,
        "choices": [{"index": 0, "message": message, "finish_reason": resp.finish_reason}],
    }
    if resp.usage is not NO_USAGE:
        body["usage"] = _wire_usage(resp.usage)
    return dumps(body)
