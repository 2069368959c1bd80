"""``Embedder``: texts → float32 vectors, batched, rate-limited, retried, and never twice.

A call looks each text up by :func:`~fastcrew.embeddings.store.content_key`: identical
texts share one slot, a text already in flight on this event loop (any Embedder's call) is
awaited rather than sent again, a text in the store is read from it; the rest joins the
Embedder's queue on the loop (:class:`~fastcrew.embeddings.batcher.Batcher`), which packs the
texts of all concurrent calls into requests. Every request passes the endpoint's budget in
the process runtime (the limiters, rate-limit headers and 429 pauses of LLM calls, under its
own budget key: the embeddings URL and key) and the LLM client's retry layer
(:func:`~fastcrew.llm.retrying.with_retries`), over the loop's shared aiohttp session.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigurationError
from ..limits import Lease, Limiter, RateLimit, RateLimitSnapshot, RetryPolicy
from ..llm.providers import origin
from ..llm.retrying import with_retries
from ..llm.transport import AiohttpTransport
from ..llm.wire import error_from_response
from ..process_runtime import budget_key, get_runtime
from .batcher import Batcher, Request, Slots
from .batching import MAX_INPUTS, MAX_REQUEST_TOKENS
from .config import EmbedderConfig, embedder_config
from .store import EmbeddingStore, content_keys, default_store_path
from .wire import Vector, parse_embeddings, request_body

__all__ = ["DEFAULT_CONCURRENCY", "Embedder", "EmbedderStats"]

DEFAULT_CONCURRENCY = 8
"""Requests one Embedder keeps in flight on one event loop at most (the budget may admit
fewer); texts queued meanwhile make the next requests fuller."""
DEFAULT_TIMEOUT = 60.0
_SLOTS = "embeddings.slots"

CacheSpec = str | os.PathLike[str] | EmbeddingStore | bool


@dataclass(slots=True)
class EmbedderStats:
    """What one :class:`Embedder` did: requests sent, texts they embedded, texts read from
    the store, texts shared with another call's request or repeated within a call."""

    requests: int = 0
    embedded: int = 0
    stored: int = 0
    shared: int = 0


class Embedder:
    """Embeddings for CrewAI's ``embedder=`` config (a dict, an :class:`EmbedderConfig`, or
    None: OpenAI's ``text-embedding-3-small``).

    ``cache``: where vectors are kept across calls, processes and runs — True (default) the
    default file (:func:`~fastcrew.embeddings.store.default_store_path`), a path, an
    :class:`EmbeddingStore`, or False for none. ``rate_limit``: the budget of the embeddings
    endpoint (default: the runtime's, learned from the headers); ``retry``: as LLM calls'.
    ``max_inputs`` / ``max_request_tokens`` cut requests (OpenAI's bounds by default),
    ``concurrency`` bounds the requests it has in flight on one event loop. The key never
    appears in a repr or an error.
    """

    def __init__(
        self,
        embedder: Mapping[str, Any] | EmbedderConfig | None = None,
        *,
        cache: CacheSpec = True,
        rate_limit: RateLimit | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        max_inputs: int = MAX_INPUTS,
        max_request_tokens: int = MAX_REQUEST_TOKENS,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        if max_inputs < 1 or max_request_tokens < 1 or concurrency < 1:
            raise ConfigurationError(
                "Embedder max_inputs, max_request_tokens and concurrency must be positive"
            )
        self.config = embedder_config(embedder, redirect=get_runtime().redirect)
        self.rate_limit = rate_limit
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.max_inputs = max_inputs
        self.max_request_tokens = max_request_tokens
        self.concurrency = concurrency
        self._store: EmbeddingStore | None = None
        self._store_path: str | None = None
        if isinstance(cache, EmbeddingStore):
            self._store = cache
        elif cache is not False:
            self._store_path = default_store_path() if cache is True else os.fspath(cache)
        self._budget_key = budget_key(self.config.endpoint, self.config.api_key)
        self._headers = self.config.headers()
        self._transport = AiohttpTransport(origin(self.config.url), timeout)
        self._batcher_key = f"embeddings.batcher.{uuid.uuid4().hex}"
        self.stats = EmbedderStats()

    def __repr__(self) -> str:
        return f"Embedder({self.config!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        path = self._store.path if self._store is not None else self._store_path
        options = {
            "cache": path or False,
            "rate_limit": self.rate_limit,
            "retry": self.retry,
            "timeout": self.timeout,
            "max_inputs": self.max_inputs,
            "max_request_tokens": self.max_request_tokens,
            "concurrency": self.concurrency,
        }
        return (_rebuild, (self.config, options))

    @property
    def store(self) -> EmbeddingStore | None:
        """The persistent store (opened on first use; one per file in the process)."""
        path = self._store_path
        if self._store is None and path is not None:
            store = get_runtime().cache_for(path, EmbeddingStore)
            if not isinstance(store, EmbeddingStore):
                raise ConfigurationError(f"{path!r} is open as a response cache, not embeddings")
            self._store = store
        return self._store

    def unstored(self) -> Embedder:
        """The same embedder (endpoint, budget, retries, limits) without the persistent
        store: for texts whose vectors are kept elsewhere by content, such as a knowledge
        collection's chunks (written once there, not twice)."""
        return Embedder(self.config, **{**self.__reduce__()[1][1], "cache": False})

    def limiter(self) -> Limiter:
        """The running loop's limiter for the embeddings endpoint's budget."""
        return get_runtime().limiter(self._budget_key, self.rate_limit)

    def embed(self, texts: Sequence[str]) -> list[Vector]:
        """Synchronous :meth:`aembed`; refuses inside a running event loop."""
        _check_texts(texts)
        run = get_runtime().run
        return run(self.aembed(texts), api="Embedder.embed", async_api="Embedder.aembed")

    def __call__(self, input: Sequence[str]) -> list[Vector]:  # CrewAI's parameter name
        """CrewAI's embedding-function call: :meth:`embed`."""
        return self.embed(input)

    async def aembed(self, texts: Sequence[str]) -> list[Vector]:
        """One float32 vector per text, in order (identical texts get the same object)."""
        keys, found, waiting = self._lookup(texts)
        if waiting:  # a cancelled call stops waiting; the requests go on for the others
            await asyncio.wait({request.answer for request in waiting.values()})
            found.update((key, request.vector(key)) for key, request in waiting.items())
        return [found[key] for key in keys]

    async def aembed_parts(
        self, texts: Sequence[str]
    ) -> AsyncGenerator[tuple[list[int], list[Vector]], None]:
        """:meth:`aembed` part by part, as they are ready: (positions in ``texts``, their
        vectors) — first the texts the store holds, then each request's as it answers. So a
        caller can write the vectors of one request while the others are in flight. A failed
        request raises when its part is due (the parts before it were yielded)."""
        keys, found, waiting = self._lookup(texts)
        parts: dict[Request, list[int]] = {}
        ready: list[int] = []
        for position, key in enumerate(keys):
            request = waiting.get(key)
            if request is None:
                ready.append(position)
            else:
                parts.setdefault(request, []).append(position)
        del waiting  # a part's vectors are dropped once the caller is done with them
        if ready:
            yield ready, [found[keys[i]] for i in ready]
        pending = {request.answer: request for request in parts}
        while pending:  # a cancelled call stops waiting; the requests go on for the others
            done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for answer in [a for a in pending if a in done]:  # in the order they were cut
                request = pending.pop(answer)
                positions = parts.pop(request)
                yield positions, [request.vector(keys[i]) for i in positions]

    def _lookup(
        self, texts: Sequence[str]
    ) -> tuple[list[bytes], dict[bytes, Vector], dict[bytes, Request]]:
        """The texts' keys, the vectors the store holds, and the request carrying each other
        key (in flight already, or queued now)."""
        _check_texts(texts)
        cfg = self.config
        keys = content_keys(cfg.endpoint, cfg.model, cfg.dimensions, texts)
        unique = dict(zip(keys, texts, strict=True))
        slots = _slots()
        waiting = {key: slots[key] for key in unique if key in slots}
        self.stats.shared += len(keys) - len(unique) + len(waiting)
        ask = [key for key in unique if key not in waiting]
        store = self.store if ask else None
        found = store.get_many(ask) if store is not None else {}
        self.stats.stored += len(found)
        todo = [key for key in ask if key not in found]
        if todo:
            submit = self._batcher(slots).submit
            waiting.update((key, submit(key, unique[key])) for key in todo)
        return keys, found, waiting

    def _batcher(self, slots: Slots) -> Batcher:
        """This Embedder's batcher on the running loop (made when needed, dropped when idle)."""
        resources = get_runtime().loop_state().resources
        batcher: Batcher | None = resources.get(self._batcher_key)
        if batcher is None:
            limits = (self.max_inputs, self.max_request_tokens, self.concurrency)
            batcher = Batcher(self._request, self._answered, self._drop, slots, limits)
            resources[self._batcher_key] = batcher
        return batcher

    def _answered(self, keys: list[bytes], vectors: list[Vector]) -> None:
        if self._store is not None:
            self._store.put_later(zip(keys, vectors, strict=True))

    def _drop(self, batcher: Batcher) -> None:
        resources = get_runtime().loop_state().resources
        if resources.get(self._batcher_key) is batcher:
            del resources[self._batcher_key]

    async def _request(self, texts: list[str], tokens: int) -> list[Vector]:
        """One embeddings request through the endpoint's budget and the retry layer."""
        cfg = self.config
        body = request_body(cfg.model, texts, cfg.dimensions, cfg.base64)
        limiter = self.limiter()

        async def attempt(lease: Lease, retries: int) -> list[Vector]:
            resp = await self._transport.post(cfg.url, body, self._headers)
            if resp.status >= 300:
                raise error_from_response(resp.status, resp.body, resp.headers, cfg.api_key)
            vectors, used = parse_embeddings(resp.body, resp.headers, len(texts))
            if used is None:
                lease.settle(None)  # no usage reported: the estimate stands
            else:
                lease.settle_usage(used, 0)
            limiter.observe(RateLimitSnapshot.from_headers(resp.headers), lease)
            self.stats.requests += 1
            self.stats.embedded += len(texts)
            return vectors

        return await with_retries(limiter, self.retry, tokens, 0, attempt)


def _check_texts(texts: Sequence[str]) -> None:
    if isinstance(texts, str):
        raise TypeError("embed a list of texts, not one string: [text]")


def _slots() -> Slots:
    """This event loop's texts in flight, by content key (every Embedder's)."""
    resources = get_runtime().loop_state().resources
    found: Slots | None = resources.get(_SLOTS)
    if found is None:
        found = resources[_SLOTS] = {}
    return found


def _rebuild(config: EmbedderConfig, options: dict[str, Any]) -> Embedder:
    return Embedder(config, **options)
