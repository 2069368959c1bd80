"""Streaming: every chunk exactly once, in order, with its task and agent; then the result."""

from __future__ import annotations

from collections import defaultdict

import pytest

from fastcrew import Crew, CrewStreamingOutput, LLMConnectionError, StreamChunkType, Task

from .conftest import Probe, agent, sim_llm


def _two_task_crew(llm, **kwargs) -> Crew:
    researcher, writer = agent(llm, role="Researcher"), agent(llm, role="Writer")
    tasks = [
        Task(
            description="Research {topic}",
            expected_output="notes",
            agent=researcher,
            name="research",
        ),
        Task(description="Write about {topic}", expected_output="draft", agent=writer),
    ]
    return Crew(agents=[researcher, writer], tasks=tasks, stream=True, **kwargs)


async def test_chunks_are_complete_ordered_and_labelled(llm):
    crew = _two_task_crew(llm)
    streaming = await crew.akickoff({"topic": "owls"})
    assert isinstance(streaming, CrewStreamingOutput)
    with pytest.raises(RuntimeError, match="Streaming has not completed yet"):
        _ = streaming.result
    chunks = [chunk async for chunk in streaming]
    result = streaming.result
    by_task = defaultdict(list)
    for chunk in chunks:
        by_task[chunk.task_index].append(chunk)
    assert sorted(by_task) == [0, 1]
    assert [c.task_index for c in chunks] == sorted(c.task_index for c in chunks)
    for index, output in enumerate(result.tasks_output):
        assert "".join(c.content for c in by_task[index]) == output.raw
    first, second = by_task[0][0], by_task[1][0]
    assert (first.task_name, first.agent_role) == ("research", "Researcher")
    assert (second.task_name, second.agent_role) == ("Write about owls", "Writer")
    assert first.chunk_type is StreamChunkType.TEXT
    assert first.task_id == str(crew.tasks[0].id)
    assert first.agent_id == str(crew.agents[0].id)
    assert first.input_index is None
    assert streaming.get_full_text() == "".join(o.raw for o in result.tasks_output)
    assert streaming.is_completed
    assert not streaming.is_cancelled
    assert result.token_usage.successful_requests == 2


def test_sync_streaming_from_kickoff(spawned_sim):
    crew = _two_task_crew(sim_llm(spawned_sim.base_url))
    streaming = crew.kickoff({"topic": "bees"})
    with pytest.raises(TypeError, match="plain `for`"):
        streaming.__aiter__()
    text = "".join(chunk.content for chunk in streaming)
    assert text == "".join(o.raw for o in streaming.result.tasks_output)
    assert "Write about bees" in streaming.result.raw


def test_sync_streams_per_input_from_kickoff_for_each(spawned_sim):
    crew = _two_task_crew(sim_llm(spawned_sim.base_url))
    streams = crew.kickoff_for_each([{"topic": "a"}, {"topic": "b"}])
    assert len(streams) == 2
    for stream, topic in zip(streams, "ab", strict=True):
        with stream:
            chunks = list(stream)
        assert chunks
        assert f"Write about {topic}" in stream.result.raw


async def test_for_each_stream_yields_every_chunk_once(slow_sim):
    crew = _two_task_crew(sim_llm(slow_sim.base_url))
    streaming = await crew.akickoff_for_each([{"topic": f"t{i}"} for i in range(4)])
    chunks = [chunk async for chunk in streaming]
    results = streaming.results
    assert len(results) == 4
    for index, result in enumerate(results):
        mine = [c for c in chunks if c.input_index == index]
        assert "".join(c.content for c in mine) == "".join(o.raw for o in result.tasks_output)
        assert f"Research t{index}" in result.tasks_output[0].raw
    assert slow_sim.stats()["peak_in_flight"] == 4


async def test_closing_early_cancels_the_run(slow_sim):
    probe = Probe(sim_llm(slow_sim.base_url))
    crew = _two_task_crew(probe)
    async with await crew.akickoff({"topic": "x"}) as streaming:
        async for _ in streaming:
            break
    assert streaming.is_cancelled
    with pytest.raises(RuntimeError, match="closed before the run finished"):
        _ = streaming.result
    assert probe.finished == 1  # task 2 never got an answer: it was cancelled or not started
    assert probe.calls == probe.finished + probe.cancelled


async def test_a_failing_stream_raises_and_keeps_the_error(closed_url):
    crew = _two_task_crew(sim_llm(closed_url))
    streaming = await crew.akickoff({"topic": "x"})
    with pytest.raises(LLMConnectionError):
        async for _ in streaming:
            pass
    with pytest.raises(LLMConnectionError):
        _ = streaming.result


async def test_kickoff_async_streams_natively(llm):
    streaming = await _two_task_crew(llm).kickoff_async({"topic": "fish"})
    chunks = [chunk async for chunk in streaming]
    result = streaming.result
    assert "".join(c.content for c in chunks) == "".join(o.raw for o in result.tasks_output)
    assert "Write about fish" in result.raw
