"""Streaming runs: chunks of the answers as they arrive, then the result.

A :class:`CrewStreamingOutput` owns its run: the run starts when iteration starts, every
chunk is delivered exactly once, stopping early (``aclose``/``close``, leaving an
``async with``) cancels the run, and ``.result`` is available once the stream has ended.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from ..process_runtime import get_runtime

__all__ = ["CrewStreamingOutput", "Emit", "StreamChunk", "StreamChunkType", "ToolCallChunk"]

T = TypeVar("T")
Emit = Callable[["StreamChunk"], None]
_END = object()


class StreamChunkType(StrEnum):
    """What a chunk carries."""

    TEXT = "text"
    TOOL_CALL = "tool_call"


class ToolCallChunk(BaseModel):
    """A piece of a tool call (reserved: tools arrive with the tools issue)."""

    tool_id: str | None = None
    tool_name: str | None = None
    arguments: str = ""
    index: int = 0


class StreamChunk(BaseModel):
    """A piece of an answer, with the task and agent that produced it.

    ``input_index`` is the position of the input in a streamed ``akickoff_for_each``
    (``None`` for a single kickoff).
    """

    content: str
    chunk_type: StreamChunkType = StreamChunkType.TEXT
    task_index: int = 0
    task_name: str = ""
    task_id: str = ""
    agent_role: str = ""
    agent_id: str = ""
    tool_call: ToolCallChunk | None = None
    input_index: int | None = None

    def __str__(self) -> str:
        return self.content


class CrewStreamingOutput(Generic[T]):
    """The chunks of a streaming run (iterate them), then its result (``.result``).

    Returned by ``kickoff``/``akickoff`` on a ``Crew(stream=True)``: iterate with ``for``
    (from ``kickoff``) or ``async for`` (from ``akickoff``/``kickoff_async``). A streamed
    ``akickoff_for_each`` yields the chunks of every run and its result is the list of
    outputs (also as ``.results``).
    """

    def __init__(self, start: Callable[[Emit], Coroutine[Any, Any, T]], *, sync: bool) -> None:
        self._start = start
        self._sync = sync
        self._chunks: list[StreamChunk] = []
        self._result: T | None = None
        self._error: BaseException | None = None
        self._completed = False
        self._cancelled = False
        self._started = False
        self._agen: AsyncIterator[StreamChunk] | None = None
        self._sync_iter: Iterator[StreamChunk] | None = None

    # -- state ---------------------------------------------------------------------------

    @property
    def result(self) -> T:
        """The run's output; raises until the stream has ended (and re-raises its error)."""
        if not self._completed:
            raise RuntimeError(
                "Streaming has not completed yet: iterate over every chunk before reading .result"
            )
        if self._error is not None:
            raise self._error
        if self._cancelled or self._result is None:
            raise RuntimeError("the stream was closed before the run finished; no result")
        return self._result

    @property
    def results(self) -> list[Any]:
        """Every output as a list: a streamed for-each's outputs, else ``[result]``
        (CrewAI's name for a streamed for-each)."""
        result = self.result
        return result if isinstance(result, list) else [result]

    @property
    def is_completed(self) -> bool:
        """Whether the stream has ended (finished, failed or closed)."""
        return self._completed

    @property
    def is_cancelled(self) -> bool:
        """Whether the stream was closed before the run finished."""
        return self._cancelled

    @property
    def chunks(self) -> list[StreamChunk]:
        """Every chunk received so far."""
        return list(self._chunks)

    def get_full_text(self) -> str:
        """All text received so far, concatenated."""
        return "".join(c.content for c in self._chunks if c.chunk_type is StreamChunkType.TEXT)

    # -- async ---------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[StreamChunk]:
        if self._sync:
            raise TypeError("this stream comes from kickoff(): iterate it with a plain `for`")
        if self._agen is None:
            self._agen = self._run()
        return self._agen

    async def __aenter__(self) -> CrewStreamingOutput[T]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the stream, cancelling the run if it is still going."""
        if self._agen is not None:
            await self._agen.aclose()  # type: ignore[attr-defined]
        self._mark_closed()

    async def _run(self) -> AsyncIterator[StreamChunk]:
        if self._started:
            raise RuntimeError("a streaming output can be iterated only once")
        self._started = True
        if self._completed:  # closed before iteration began: the run never starts
            return
        queue: asyncio.Queue[Any] = asyncio.Queue()
        put = queue.put_nowait
        task = asyncio.create_task(self._start(put))
        task.add_done_callback(lambda _: put(_END))
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    break
                self._chunks.append(item)
                yield item
            try:
                self._result = task.result()
            except BaseException as exc:
                self._error = exc
                raise
            finally:
                self._completed = True
        finally:
            if not task.done():
                task.cancel()
                await asyncio.wait([task])
            if not task.cancelled():
                task.exception()  # retrieved: the error (if any) was raised above
            self._mark_closed()

    def _mark_closed(self) -> None:
        if not self._completed:
            self._completed = True
            self._cancelled = True

    # -- sync ----------------------------------------------------------------------------

    def __iter__(self) -> Iterator[StreamChunk]:
        if not self._sync:
            raise TypeError("this stream comes from akickoff(): iterate it with `async for`")
        if self._sync_iter is None:
            self._sync_iter = self._run_sync()
        return self._sync_iter

    def __enter__(self) -> CrewStreamingOutput[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the stream, cancelling the run if it is still going (sync streams)."""
        if self._sync_iter is not None:
            self._sync_iter.close()  # type: ignore[attr-defined]
        self._mark_closed()

    def _run_sync(self) -> Iterator[StreamChunk]:
        # Each next() runs the producer on the runtime's home loop until the next chunk.
        agen = self._run()
        runtime = get_runtime()

        async def step() -> StreamChunk:
            return await agen.__anext__()

        try:
            while True:
                try:
                    chunk = runtime.run(step(), api="iterating a stream", async_api="async for")
                except StopAsyncIteration:
                    return
                yield chunk
        finally:
            runtime.run(agen.aclose())  # type: ignore[attr-defined]
