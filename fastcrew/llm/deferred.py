"""``--via batch-api``: an LLM call answered through the provider's Batch API by the batch
supervisor (:class:`~fastcrew.process_runtime.Deferrer`), instead of over HTTP."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .cache_replay import ReplayStream
from .meter import record_usage
from .stream import ChatStream
from .types import ChatResponse, Usage
from .wire import error_from_response, parse_completion

if TYPE_CHECKING:
    from ..process_runtime.runtime import Deferrer
    from .client import LLM

__all__ = ["answer_deferred"]


async def answer_deferred(llm: LLM, deferrer: Deferrer, body: bytes, stream: bool) -> Any:
    """The answer through the provider's Batch API (no rate budget: it has none), parsed
    as if it came over HTTP and priced at batch rates; a stream is replayed."""
    status, raw = await deferrer.defer(llm._url, body)
    if status >= 300:
        raise error_from_response(status, raw, {}, llm._api_key)
    if stream:

        def price(usage: Usage, model: str | None) -> Usage:
            return llm._pricer(usage, model, batch=True)

        def done(resp: ChatResponse | None) -> None:
            if resp is not None:
                record_usage(resp)
                llm._usage.add(resp.usage)

        return ChatStream(ReplayStream(raw), done, llm._api_key, price)
    resp = parse_completion(raw, {})
    resp.usage = llm._pricer(resp.usage, resp.model, batch=True)
    record_usage(resp)
    llm._usage.add(resp.usage)
    return resp
