"""``ChatStream``: a streamed answer, read delta by delta, whole at the end."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, Literal

from .types import NO_USAGE, ChatDelta, ChatResponse, RateLimitSnapshot, Usage
from .wire import malformed_response, merge_tool_call_deltas, parse_stream_line

if TYPE_CHECKING:
    from .transport import HttpStream

__all__ = ["ChatStream", "LineDecoder"]

LineDecoder = Callable[[bytes, str | None, str | None], "ChatDelta | Literal[True] | None"]
"""One SSE line (with the request id and the key to redact) → a delta, None, or True at the end."""


class ChatStream:
    """A streamed answer: iterate for :class:`ChatDelta` pieces.

    Text deltas come first; the last delta carries ``usage`` and ``finish_reason``. After the
    stream ends, :attr:`response` holds the whole :class:`ChatResponse`. Use ``async with`` (or
    call :meth:`aclose`) to release the connection when you stop reading early.
    """

    def __init__(
        self,
        handle: HttpStream,
        on_done: Callable[[ChatResponse | None], None],
        secret: str | None = None,
        price: Callable[[Usage, str | None], Usage] | None = None,
        decode: LineDecoder | None = None,
    ) -> None:
        """``price(usage, model)``: the final usage with its cost (the LLM's pricer);
        ``decode``: the wire's line decoder (default: OpenAI's ``parse_stream_line``)."""
        self._handle = handle
        self._decode: LineDecoder = decode or parse_stream_line
        self._price = price
        self._on_done: Callable[[ChatResponse | None], None] | None = on_done
        self._secret = secret
        self._response: ChatResponse | None = None
        self._iterator: AsyncIterator[ChatDelta] | None = None

    def __aiter__(self) -> AsyncIterator[ChatDelta]:
        if self._iterator is None:
            self._iterator = self._deltas()
        return self._iterator

    async def __aenter__(self) -> ChatStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop reading and release the connection."""
        self._finish(None)
        await self._handle.aclose()

    def _finish(self, response: ChatResponse | None) -> None:
        on_done: Callable[[ChatResponse | None], None] | None = self._on_done
        self._on_done = None
        if on_done is not None:
            on_done(response)

    @property
    def response(self) -> ChatResponse:
        """The complete answer; only after the stream has been read to its end."""
        if self._response is None:
            raise RuntimeError("the stream has not finished yet; iterate it to the end first")
        return self._response

    async def _deltas(self) -> AsyncIterator[ChatDelta]:
        try:
            async for delta in self._read():
                yield delta
        finally:
            self._finish(self._response)

    async def _read(self) -> AsyncIterator[ChatDelta]:
        headers = self._handle.headers
        request_id = headers.get("x-request-id") or headers.get("request-id")
        parts: list[str] = []
        calls: dict[int, dict[str, Any]] = {}
        usage: Usage | None = None
        model: str | None = None
        finish: str | None = None
        done = False
        async for line in self._handle.lines():
            delta = self._decode(line, request_id, self._secret)
            if delta is True:
                done = True
                break
            if delta is None:
                continue
            if delta.usage is not None:
                usage, model = delta.usage, delta.model
            if delta.finish_reason is not None:
                finish = delta.finish_reason
            if delta.tool_calls:
                merge_tool_call_deltas(calls, delta.tool_calls)
                yield ChatDelta("", tool_calls=delta.tool_calls)
            if delta.content:
                parts.append(delta.content)
                yield ChatDelta(delta.content)
        if not done and finish is None:
            raise malformed_response("stream ended before [DONE]", request_id)
        usage = usage or NO_USAGE
        if self._price is not None:
            usage = self._price(usage, model)
        self._response = ChatResponse(
            content="".join(parts),
            usage=usage,
            finish_reason=finish,
            model=model,
            request_id=request_id,
            rate_limits=RateLimitSnapshot.from_headers(headers),
            tool_calls=[calls[i] for i in sorted(calls)] or None,
        )
        yield ChatDelta("", usage=self._response.usage, finish_reason=finish)
