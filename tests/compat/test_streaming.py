"""CrewAI compatibility: ``Crew(stream=True)``, as CrewAI's own ``tests/test_streaming.py``
and the crew half of ``tests/test_streaming_integration.py`` pin it down (CrewAI 1.15.30;
written for fastcrew, not copied). Every behaviour is checked on real runs against the
simulator: CrewAI's tests feed hand-made generators to the output's constructor and call its
private ``_set_result``, or emit ``LLMStreamChunkEvent`` on its event bus from a patched
``kickoff`` — fastcrew's streams are made by runs only, and what reaches the user (chunks,
``.result``, ``close`` / ``aclose``, the flags) is the same.

From ``test_streaming.py`` (37 tests): 23 covered here — ``StreamChunk`` / ``ToolCallChunk``
(2), the output's ``.result`` before iteration, ``is_completed``, ``get_full_text``,
``chunks`` (4), ``kickoff`` / ``kickoff_async`` returning a streaming output, its chunks and
its result after iteration (6), tool-call chunks (1), an error raised while streaming, several
tasks (2), ``aclose`` / ``close`` cancelling and idempotent, the async context manager with
and without an early exit (6), the ``crewai.types.streaming`` import path (1, without
``FlowStreamingOutput``), concurrent streams not mixing (1: CrewAI's test drives its
internal ``create_streaming_state`` handlers from two threads; here two concurrent runs).

Deliberately different (1): ``test_streaming_with_empty_content_chunks`` feeds the output a
generator yielding ``StreamChunk(content="")``; fastcrew's constructor takes a run, not an
iterator (both are internal plumbing), so only the empty chunk itself is checked.

Left out (13), "Flow streaming: not yet in fastcrew" (``Flow(stream=True)`` raises
``UnsupportedFeatureError``): ``TestFlowStreamingOutput`` (2), ``TestFlowKickoffStreaming``
(4) and ``TestFlowKickoffStreamingAsync`` (4) — ``StreamSession`` / ``AsyncStreamSession``,
``from_checkpoint`` — and the three ``FlowStreamingOutput`` cancellation tests (3).

From ``test_streaming_integration.py`` (8): the 5 crew tests covered (basic, chunk context,
properties, ``kickoff_async``, ``kickoff_for_each``); the 3 flow tests left out (flow
streaming). ``test_stream_frames.py`` (11) is left out whole: CrewAI's newer ``StreamFrame``
session API (``stream_events``, ``astream``, channels, ``LLM.stream_events``) is not yet in
fastcrew.

Where fastcrew fills more in (docs/compatibility.md, Streaming): chunks carry the task's name
(else its description) and ids where CrewAI leaves ``task_name`` empty, and a tool call
streams as one ``TOOL_CALL`` chunk with the whole arguments where CrewAI streams one chunk per
argument delta; tests here only assert what holds in both.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from runtime.conftest import Probe, sim_llm

from fastcrew import Agent, BaseLLM, Crew, CrewOutput, Task, UnsupportedFeatureError
from fastcrew.flow import Flow, start
from fastcrew.sim import Simulator, SpawnedSim, serve, spawn
from fastcrew.tools import tool
from fastcrew.types.streaming import (
    CrewStreamingOutput,
    StreamChunk,
    StreamChunkType,
    ToolCallChunk,
)


@pytest.fixture(scope="module")
def spawned() -> Iterator[SpawnedSim]:
    """A simulator in a child process, for the sync ``kickoff`` streams."""
    with spawn() as server:
        yield server


def researcher(llm: Any, **kwargs: Any) -> Agent:
    return Agent(
        role="Researcher",
        goal="Research and analyze topics thoroughly",
        backstory="You are an expert researcher with deep analytical skills.",
        allow_delegation=False,
        llm=llm,
        **kwargs,
    )


def streaming_crew(llm: Any, *descriptions: str, **agent_kwargs: Any) -> Crew:
    """A ``stream=True`` crew of one researcher with one task per description."""
    agent = researcher(llm, **agent_kwargs)
    tasks = [
        Task(description=d, expected_output="A concise analysis", agent=agent)
        for d in descriptions or ("Write a brief analysis of {topic} trends",)
    ]
    return Crew(agents=[agent], tasks=tasks, verbose=False, stream=True)


# -- StreamChunk / ToolCallChunk ------------------------------------------------------------


def test_stream_chunk_fields_and_str() -> None:
    chunk = StreamChunk(
        content="Hello, world!",
        chunk_type=StreamChunkType.TEXT,
        task_index=0,
        task_name="Test Task",
        task_id="task-123",
        agent_role="Researcher",
        agent_id="agent-456",
    )
    assert (chunk.content, chunk.chunk_type, chunk.task_index) == (
        "Hello, world!",
        StreamChunkType.TEXT,
        0,
    )
    assert (chunk.task_name, chunk.task_id) == ("Test Task", "task-123")
    assert (chunk.agent_role, chunk.agent_id) == ("Researcher", "agent-456")
    assert str(chunk) == "Hello, world!"
    defaults = StreamChunk(content="")
    assert defaults.chunk_type == StreamChunkType.TEXT
    assert (defaults.task_index, defaults.task_name, defaults.tool_call) == (0, "", None)
    assert str(defaults) == ""  # an empty chunk is a valid chunk (test_..._empty_content_chunks)


def test_stream_chunk_with_tool_call() -> None:
    call = ToolCallChunk(
        tool_id="call-123", tool_name="search", arguments='{"query": "AI trends"}', index=0
    )
    chunk = StreamChunk(content="", chunk_type=StreamChunkType.TOOL_CALL, tool_call=call)
    assert chunk.chunk_type == StreamChunkType.TOOL_CALL
    assert chunk.tool_call is not None
    assert chunk.tool_call.tool_name == "search"
    assert ToolCallChunk().model_dump() == {
        "tool_id": None,
        "tool_name": None,
        "arguments": "",
        "index": 0,
    }
    assert StreamChunkType.TEXT.value == "text"
    assert StreamChunkType.TOOL_CALL.value == "tool_call"


def test_streaming_types_import_from_crewai_types_path() -> None:
    import fastcrew
    from fastcrew.runtime import streaming

    assert CrewStreamingOutput is streaming.CrewStreamingOutput is fastcrew.CrewStreamingOutput
    assert StreamChunk is fastcrew.StreamChunk
    assert StreamChunkType is fastcrew.StreamChunkType
    assert ToolCallChunk is streaming.ToolCallChunk


# -- sync kickoff ---------------------------------------------------------------------------


def test_kickoff_returns_a_streaming_output_and_its_result_after_iteration(
    spawned: SpawnedSim,
) -> None:
    streaming = streaming_crew(sim_llm(spawned.base_url)).kickoff(inputs={"topic": "AI"})
    assert isinstance(streaming, CrewStreamingOutput)
    assert streaming.is_completed is False
    with pytest.raises(RuntimeError, match="Streaming has not completed yet"):
        _ = streaming.result
    contents = [chunk.content for chunk in streaming]
    assert len(contents) > 0
    assert streaming.is_completed is True
    assert not streaming.is_cancelled
    result = streaming.result
    assert isinstance(result, CrewOutput)
    assert result.raw
    assert "".join(contents) == result.raw
    assert streaming.results == [result]  # CrewAI: a single run's `results` is [result]


def test_streaming_properties_and_chunk_context(spawned: SpawnedSim) -> None:
    streaming = streaming_crew(sim_llm(spawned.base_url)).kickoff(inputs={"topic": "AI"})
    for _ in streaming:
        pass
    chunks = streaming.chunks
    assert len(chunks) > 0
    assert streaming.chunks is not streaming.chunks  # a copy each time, as in CrewAI
    assert streaming.get_full_text() == "".join(c.content for c in chunks)
    assert len(streaming.get_full_text()) > 0
    assert {(c.agent_role, c.task_index, c.chunk_type) for c in chunks} == {
        ("Researcher", 0, StreamChunkType.TEXT)
    }
    assert streaming.result.raw == streaming.get_full_text()


def test_kickoff_for_each_returns_one_stream_per_input(spawned: SpawnedSim) -> None:
    crew = streaming_crew(sim_llm(spawned.base_url))
    outputs = crew.kickoff_for_each(inputs=[{"topic": "AI in healthcare"}, {"topic": "finance"}])
    assert len(outputs) == 2
    assert all(isinstance(s, CrewStreamingOutput) for s in outputs)
    for streaming, topic in zip(outputs, ["AI in healthcare", "finance"], strict=True):
        for _ in streaming:
            pass
        assert f"{topic} trends" in streaming.result.raw


def test_an_error_while_streaming_is_raised_by_the_iteration(spawned: SpawnedSim) -> None:
    class FailingLLM(BaseLLM):
        def call(self, messages: Any, *args: Any, **kwargs: Any) -> str:
            raise ValueError("Test error")

    streaming = streaming_crew(FailingLLM(model="failing")).kickoff()
    with pytest.raises(ValueError, match="Test error"):
        list(streaming)
    assert streaming.is_completed
    with pytest.raises(ValueError, match="Test error"):
        _ = streaming.result
    streaming.close()  # a no-op after an error: not cancelled
    assert not streaming.is_cancelled


def test_close_cancels_a_sync_stream_and_is_idempotent(spawned: SpawnedSim) -> None:
    llm = sim_llm(spawned.base_url)
    streaming = streaming_crew(llm, "First task", "Second task").kickoff()
    collected = []
    for chunk in streaming:
        collected.append(chunk)
        if len(collected) >= 3:
            break
    streaming.close()
    assert (streaming.is_cancelled, streaming.is_completed, len(collected)) == (True, True, 3)
    with pytest.raises(RuntimeError):
        _ = streaming.result
    streaming.close()
    assert streaming.is_cancelled

    finished = streaming_crew(llm).kickoff()
    list(finished)
    finished.close()
    finished.close()
    assert (finished.is_cancelled, finished.is_completed) == (False, True)
    assert finished.result.raw


def test_close_before_iterating_never_starts_the_run(spawned: SpawnedSim) -> None:
    before = spawned.stats()["requests_total"]
    streaming = streaming_crew(sim_llm(spawned.base_url)).kickoff()
    streaming.close()
    assert (streaming.is_cancelled, streaming.is_completed) == (True, True)
    assert list(streaming) == []
    with pytest.raises(RuntimeError):
        _ = streaming.result
    assert spawned.stats()["requests_total"] == before


# -- async ----------------------------------------------------------------------------------


async def test_kickoff_async_returns_a_streaming_output_with_chunks_and_result(
    sim: Simulator,
) -> None:
    crew = streaming_crew(sim_llm(sim.base_url))
    for kick in (crew.kickoff_async, crew.akickoff):
        streaming = await kick(inputs={"topic": "AI"})
        assert isinstance(streaming, CrewStreamingOutput)
        chunks = [chunk async for chunk in streaming]
        assert len(chunks) > 0
        assert streaming.is_completed
        assert streaming.result.raw == "".join(c.content for c in chunks)


async def test_tool_calls_stream_as_tool_call_chunks(sim: Simulator) -> None:
    @tool("search")
    def search(query: str) -> str:
        """Search the web."""
        return f"results for {query}"

    streaming = await streaming_crew(sim_llm(sim.base_url), tools=[search]).akickoff()
    chunks = [chunk async for chunk in streaming]
    tool_chunks = [c for c in chunks if c.chunk_type == StreamChunkType.TOOL_CALL]
    assert len(tool_chunks) >= 1
    call = tool_chunks[0].tool_call
    assert call is not None
    assert call.tool_name == "search"
    assert call.tool_id
    assert '"query"' in call.arguments
    # get_full_text() is the text only, never the tool calls' arguments
    text = [c.content for c in chunks if c.chunk_type == StreamChunkType.TEXT]
    assert streaming.get_full_text() == "".join(text)
    assert streaming.result.raw


async def test_several_tasks_label_their_chunks(sim: Simulator) -> None:
    crew = streaming_crew(sim_llm(sim.base_url), "First task", "Second task")
    streaming = await crew.akickoff()
    chunks = [chunk async for chunk in streaming]
    assert streaming.is_completed
    outputs = streaming.result.tasks_output
    for index, output in enumerate(outputs):
        mine = [c for c in chunks if c.task_index == index]
        assert "".join(c.content for c in mine) == output.raw
        assert {c.agent_role for c in mine} == {"Researcher"}
    assert [c.task_index for c in chunks] == sorted(c.task_index for c in chunks)


async def test_aclose_cancels_the_run_and_is_idempotent(sim: Simulator) -> None:
    async with serve(latency_ms=200) as slow:
        probe = Probe(sim_llm(slow.base_url))
        streaming = await streaming_crew(probe, "First task", "Second task").akickoff()
        collected = []
        async for chunk in streaming:
            collected.append(chunk)
            if len(collected) >= 3:
                break
        await streaming.aclose()
        assert (streaming.is_cancelled, streaming.is_completed, len(collected)) == (True, True, 3)
        assert probe.finished == 1  # the second task never got its answer
        await streaming.aclose()
        assert streaming.is_cancelled

    finished = await streaming_crew(sim_llm(sim.base_url)).akickoff()
    async for _ in finished:
        pass
    await finished.aclose()
    await finished.aclose()
    assert (finished.is_cancelled, finished.is_completed) == (False, True)


async def test_async_context_manager(sim: Simulator) -> None:
    streaming = await streaming_crew(sim_llm(sim.base_url)).akickoff()
    async with streaming:
        collected = [chunk async for chunk in streaming]
    assert (streaming.is_cancelled, streaming.is_completed) == (False, True)
    assert len(collected) > 0
    assert streaming.result.raw


async def test_async_context_manager_early_exit_cancels(sim: Simulator) -> None:
    probe = Probe(sim_llm(sim.base_url))
    streaming = await streaming_crew(probe, "First task", "Second task").akickoff()
    async with streaming:
        async for _ in streaming:
            break
    assert (streaming.is_cancelled, streaming.is_completed) == (True, True)
    assert probe.calls == probe.finished + probe.cancelled
    assert probe.finished <= 1


async def test_concurrent_streams_do_not_mix(sim: Simulator) -> None:
    llm = sim_llm(sim.base_url)
    crew_a = streaming_crew(llm, "Task A about {topic}")
    crew_b = streaming_crew(llm, "Task B about {topic}")

    async def collect(crew: Crew, topic: str) -> tuple[list[StreamChunk], Any]:
        streaming = await crew.akickoff(inputs={"topic": topic})
        return [chunk async for chunk in streaming], streaming.result

    (chunks_a, result_a), (chunks_b, result_b) = await asyncio.gather(
        collect(crew_a, "alpha"), collect(crew_b, "beta")
    )
    assert "".join(c.content for c in chunks_a) == result_a.raw
    assert "".join(c.content for c in chunks_b) == result_b.raw
    assert {c.task_id for c in chunks_a} == {str(crew_a.tasks[0].id)}
    assert {c.task_id for c in chunks_b} == {str(crew_b.tasks[0].id)}
    assert "Task A about alpha" in result_a.raw
    assert "Task B about beta" in result_b.raw


# -- Flow(stream=True): not yet ------------------------------------------------------------


@pytest.mark.parametrize("on", ["class", "instance"])
def test_flow_streaming_is_refused_not_silently_ignored(on: str) -> None:
    """Flow streaming is not yet in fastcrew: ``stream = True`` on the class, or set on an
    instance as CrewAI's tests do (``flow.stream = True``), raises instead of running a
    non-streamed kickoff (CrewAI would return a ``StreamSession``)."""

    class SimpleFlow(Flow[dict[str, Any]]):
        @start()
        def generate(self) -> str:
            return "result"

    if on == "class":
        SimpleFlow.stream = True
    flow = SimpleFlow()
    if on == "instance":
        setattr(flow, "stream", True)  # noqa: B010 (a ClassVar set on the instance)
    with pytest.raises(UnsupportedFeatureError, match="stream"):
        flow.kickoff()
