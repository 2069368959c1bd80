"""Every crew/agent code block of the CrewAI pages in shared/seeds, run against the simulator.

The blocks are kept as written, with two changes only: ``from fastcrew import ...`` and an
``llm=`` on each agent pointing at the simulator (the "Native Async Support" tutorial's
blocks keep ``llm="gpt-4o-mini"``: ``OPENAI_BASE_URL`` points that model at the simulator).
The Flow parts of that tutorial belong to the Flows issue; their crew and agent calls are
run here directly.
"""

from __future__ import annotations

import asyncio

import pytest

from fastcrew import Agent, Crew, CrewOutput, CrewStreamingOutput, InputError, Process, Task

from .conftest import sim_llm


@pytest.fixture
def llm(spawned_sim):
    spawned_sim.reset_stats()
    return sim_llm(spawned_sim.base_url)


@pytest.fixture
def openai_env(spawned_sim, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", spawned_sim.base_url)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("MODEL", raising=False)
    monkeypatch.delenv("OPENAI_MODEL_NAME", raising=False)


def _coding_agent(llm):
    return Agent(
        role="Python Data Analyst",
        goal="Analyze data and provide insights using Python",
        backstory="You are an experienced data analyst with strong Python skills.",
        allow_code_execution=True,
        llm=llm,
    )


# -- "Kickoff Crew Asynchronously" ----------------------------------------------------------


def test_native_async_crew_execution(llm, capsys):
    coding_agent = _coding_agent(llm)
    data_analysis_task = Task(
        description="Analyze the given dataset and calculate the average age of participants. "
        "Ages: {ages}",
        agent=coding_agent,
        expected_output="The average age of the participants.",
    )
    analysis_crew = Crew(agents=[coding_agent], tasks=[data_analysis_task])

    async def main():
        result = await analysis_crew.akickoff(inputs={"ages": [25, 30, 35, 40, 45]})
        print("Crew Result:", result)

    asyncio.run(main())
    out = capsys.readouterr().out
    assert out.startswith("Crew Result: Simulated answer")
    assert "Ages: [25, 30, 35, 40, 45]" in out


def test_multiple_native_async_crews(llm, capsys, spawned_sim):
    coding_agent = _coding_agent(llm)
    task_1 = Task(
        description="Analyze the first dataset and calculate the average age. Ages: {ages}",
        agent=coding_agent,
        expected_output="The average age of the participants.",
    )
    task_2 = Task(
        description="Analyze the second dataset and calculate the average age. Ages: {ages}",
        agent=coding_agent,
        expected_output="The average age of the participants.",
    )
    crew_1 = Crew(agents=[coding_agent], tasks=[task_1])
    crew_2 = Crew(agents=[coding_agent], tasks=[task_2])

    async def main():
        results = await asyncio.gather(
            crew_1.akickoff(inputs={"ages": [25, 30, 35, 40, 45]}),
            crew_2.akickoff(inputs={"ages": [20, 22, 24, 28, 30]}),
        )
        for i, result in enumerate(results, 1):
            print(f"Crew {i} Result:", result)

    asyncio.run(main())
    lines = capsys.readouterr().out.splitlines()
    assert "first dataset" in lines[0]
    assert "[25, 30, 35, 40, 45]" in lines[0]
    assert "second dataset" in lines[1]
    assert "[20, 22, 24, 28, 30]" in lines[1]
    stats = spawned_sim.stats()
    # allow_code_execution: each crew's agent ran the code interpreter once, then answered
    assert stats["tool_calls"] == 2
    assert stats["requests_total"] == 4


def test_native_async_for_multiple_inputs(llm, capsys):
    coding_agent = _coding_agent(llm)
    data_analysis_task = Task(
        description="Analyze the dataset and calculate the average age. Ages: {ages}",
        agent=coding_agent,
        expected_output="The average age of the participants.",
    )
    analysis_crew = Crew(agents=[coding_agent], tasks=[data_analysis_task])

    async def main():
        datasets = [
            {"ages": [25, 30, 35, 40, 45]},
            {"ages": [20, 22, 24, 28, 30]},
            {"ages": [30, 35, 40, 45, 50]},
        ]
        results = await analysis_crew.akickoff_for_each(datasets)
        for i, result in enumerate(results, 1):
            print(f"Dataset {i} Result:", result)

    asyncio.run(main())
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [f"Dataset {i} Result" for i in (1, 2, 3)]
    assert "[30, 35, 40, 45, 50]" in lines[2]


def test_thread_based_async_execution(llm, capsys):
    coding_agent = _coding_agent(llm)
    data_analysis_task = Task(
        description="Analyze the given dataset and calculate the average age of participants. "
        "Ages: {ages}",
        agent=coding_agent,
        expected_output="The average age of the participants.",
    )
    analysis_crew = Crew(agents=[coding_agent], tasks=[data_analysis_task])

    async def async_crew_execution():
        result = await analysis_crew.kickoff_async(inputs={"ages": [25, 30, 35, 40, 45]})
        print("Crew Result:", result)

    asyncio.run(async_crew_execution())
    assert "Ages: [25, 30, 35, 40, 45]" in capsys.readouterr().out


def test_multiple_thread_based_async_crews(llm, capsys):
    coding_agent = _coding_agent(llm)
    task_1 = Task(
        description="Analyze the first dataset and calculate the average age of participants. "
        "Ages: {ages}",
        agent=coding_agent,
        expected_output="The average age of the participants.",
    )
    task_2 = Task(
        description="Analyze the second dataset and calculate the average age of "
        "participants. Ages: {ages}",
        agent=coding_agent,
        expected_output="The average age of the participants.",
    )
    crew_1 = Crew(agents=[coding_agent], tasks=[task_1])
    crew_2 = Crew(agents=[coding_agent], tasks=[task_2])

    async def async_multiple_crews():
        result_1 = crew_1.kickoff_async(inputs={"ages": [25, 30, 35, 40, 45]})
        result_2 = crew_2.kickoff_async(inputs={"ages": [20, 22, 24, 28, 30]})
        results = await asyncio.gather(result_1, result_2)
        for i, result in enumerate(results, 1):
            print(f"Crew {i} Result:", result)

    asyncio.run(async_multiple_crews())
    lines = capsys.readouterr().out.splitlines()
    assert "first dataset" in lines[0]
    assert "second dataset" in lines[1]


def test_async_streaming(llm, capsys):
    agent = Agent(
        role="Researcher",
        goal="Research and summarize topics",
        backstory="You are an expert researcher.",
        llm=llm,
    )
    task = Task(
        description="Research the topic: {topic}",
        agent=agent,
        expected_output="A comprehensive summary of the topic.",
    )
    crew = Crew(agents=[agent], tasks=[task], stream=True)

    async def main():
        streaming_output = await crew.akickoff(inputs={"topic": "AI trends in 2024"})
        async for chunk in streaming_output:
            print(f"Chunk: {chunk.content}")
        result = streaming_output.result
        print(f"Final result: {result.raw}")
        return streaming_output

    streaming_output = asyncio.run(main())
    out = capsys.readouterr().out
    chunks = [line.removeprefix("Chunk: ") for line in out.splitlines()[:-1]]
    assert len(chunks) > 1
    assert "".join(chunks) == streaming_output.result.raw
    assert "Research the topic: AI trends in 2024" in streaming_output.result.raw


# -- "Async Execution" ------------------------------------------------------------------------


def test_task_level_async_with_join(llm, spawned_sim):
    researcher = Agent(role="Researcher", goal="Research", backstory="Curious.", llm=llm)
    analyst = Agent(role="Analyst", goal="Analyse", backstory="Careful.", llm=llm)
    writer = Agent(role="Writer", goal="Write", backstory="Clear.", llm=llm)

    task_1 = Task(
        description="Research AI trends",
        expected_output="Trend report",
        agent=researcher,
        async_execution=True,
    )
    task_2 = Task(
        description="Research market data",
        expected_output="Market report",
        agent=analyst,
        async_execution=True,
    )
    # This task waits for both async tasks to finish
    synthesis = Task(
        description="Synthesize findings",
        expected_output="Combined report",
        agent=writer,
        context=[task_1, task_2],
    )
    crew = Crew(agents=[researcher, analyst, writer], tasks=[task_1, task_2, synthesis])
    result = crew.kickoff()
    first, second, final = result.tasks_output
    prompt = final.messages[1]["content"]
    assert first.raw in prompt
    assert second.raw in prompt
    assert (first.agent, second.agent, final.agent) == ("Researcher", "Analyst", "Writer")
    assert spawned_sim.stats()["requests_total"] == 3


def test_multiple_crews_in_parallel_with_gather(llm):
    def crew_for(name: str) -> Crew:
        agent = Agent(role=f"{name} researcher", goal="Research", backstory="Expert.", llm=llm)
        task = Task(description="Research {topic}", expected_output="Notes", agent=agent)
        return Crew(agents=[agent], tasks=[task])

    crew1, crew2 = crew_for("First"), crew_for("Second")

    async def run_parallel():
        results = await asyncio.gather(
            crew1.akickoff(inputs={"topic": "AI"}),
            crew2.akickoff(inputs={"topic": "ML"}),
        )
        return results

    results = asyncio.run(run_parallel())
    assert "Research AI" in results[0].raw
    assert "Research ML" in results[1].raw


# -- "Native Async Support" tutorial (crew and agent parts) ---------------------------------


def test_akickoff_single_async_run(openai_env, capsys):
    async def run_research():
        researcher = Agent(
            role="Researcher",
            goal="Research AI trends",
            backstory="Expert researcher.",
            llm="gpt-4o-mini",
        )
        task = Task(
            description="Research AI agent trends for 2025",
            expected_output="Key trends summary",
            agent=researcher,
        )
        crew = Crew(agents=[researcher], tasks=[task], process=Process.sequential)
        result = await crew.akickoff(inputs={"topic": "AI agents"})
        print(f"Result: {result.raw[:100]}...")
        return result

    result = asyncio.run(run_research())
    assert isinstance(result, CrewOutput)
    assert capsys.readouterr().out.startswith("Result: Simulated answer")


def test_akickoff_for_each_parallel_batch(openai_env, spawned_sim, capsys):
    spawned_sim.reset_stats()

    async def batch_research():
        researcher = Agent(
            role="Researcher",
            goal="Research the given topic",
            backstory="Expert at researching any topic.",
            llm="gpt-4o-mini",
        )
        task = Task(
            description="Write a 50-word summary of {topic}",
            expected_output="A concise summary",
            agent=researcher,
        )
        crew = Crew(agents=[researcher], tasks=[task], process=Process.sequential)
        topics = [
            {"topic": "AI agents"},
            {"topic": "Vector databases"},
            {"topic": "Fine-tuning LLMs"},
            {"topic": "RAG architecture"},
        ]
        results = await crew.akickoff_for_each(inputs=topics)
        for i, result in enumerate(results):
            print(f"Topic {i + 1}: {result.raw[:80]}...")
        return results

    results = asyncio.run(batch_research())
    topics = ["AI agents", "Vector databases", "Fine-tuning LLMs", "RAG architecture"]
    for result, topic in zip(results, topics, strict=True):
        assert f"summary of {topic}" in result.raw
    assert spawned_sim.stats()["requests_total"] == 4
    assert len(capsys.readouterr().out.splitlines()) == 4


def test_flow_crews_and_direct_agent(openai_env):
    """The crews built by the tutorial's Flow methods, and its direct agent call."""

    def _build_crew(focus: str) -> Crew:
        agent = Agent(
            role=f"{focus.title()} Analyst",
            goal=f"Analyze {focus}",
            backstory=f"Expert at {focus}.",
            llm="gpt-4o-mini",
        )
        task = Task(
            description=f"Analyze {focus}: {{focus}}",
            expected_output=f"Detailed {focus} report",
            agent=agent,
        )
        return Crew(agents=[agent], tasks=[task], process=Process.sequential)

    async def main():
        market, competitors = await asyncio.gather(
            _build_crew("market analysis").akickoff(inputs={"focus": "market trends"}),
            _build_crew("competitor analysis").akickoff(inputs={"focus": "competitor landscape"}),
        )
        report = await _build_crew("report synthesis").akickoff(
            inputs={"market": market.raw[:300], "competitors": competitors.raw[:300]}
        )
        agent = Agent(
            role="Classifier",
            goal="Classify input text",
            backstory="Classification expert.",
            llm="gpt-4o-mini",
        )
        result = await agent.kickoff_async(
            query="Classify this as positive or negative: 'Great product!'"
        )
        return market, report, result

    with pytest.raises(InputError, match=r"missing input .focus."):
        # the tutorial's synthesis crew passes no "focus": fastcrew names the gap
        asyncio.run(main())

    async def fixed():
        market = await _build_crew("market analysis").akickoff(inputs={"focus": "market trends"})
        agent = Agent(
            role="Classifier",
            goal="Classify input text",
            backstory="Classification expert.",
            llm="gpt-4o-mini",
        )
        result = await agent.kickoff_async(
            query="Classify this as positive or negative: 'Great product!'"
        )
        return market, result

    market, result = asyncio.run(fixed())
    assert "Analyze market analysis: market trends" in market.raw
    assert "Great product!" in result.raw
    assert result.agent_role == "Classifier"


def test_no_input_crews_of_the_exercise(openai_env):
    async def crew_a():
        agent = Agent(
            role="Market Analyst",
            goal="Analyze market trends",
            backstory="Expert market analyst.",
            llm="gpt-4o-mini",
        )
        task = Task(
            description="Write a 100-word summary of AI market trends",
            expected_output="A concise market summary",
            agent=agent,
        )
        crew = Crew(agents=[agent], tasks=[task], process=Process.sequential)
        result = await crew.akickoff()
        return len(result.raw.split())

    assert asyncio.run(crew_a()) > 5


def test_controlled_batch_with_semaphore(llm, spawned_sim):
    researcher = Agent(role="Researcher", goal="Research", backstory="Expert.", llm=llm)
    crew = Crew(
        agents=[researcher],
        tasks=[Task(description="Research {topic}", expected_output="Notes", agent=researcher)],
    )

    async def controlled_batch(crew: Crew, inputs_list: list[dict], max_concurrent: int = 3):
        semaphore = asyncio.Semaphore(max_concurrent)

        async def process_one(inputs: dict):
            async with semaphore:
                return await crew.akickoff(inputs=inputs)

        tasks = [process_one(inputs) for inputs in inputs_list]
        results = await asyncio.gather(*tasks)
        return results

    inputs_list = [{"topic": f"Topic {i}"} for i in range(10)]
    results = asyncio.run(controlled_batch(crew, inputs_list, max_concurrent=3))
    assert [f"Research Topic {i}" in r.raw for i, r in enumerate(results)] == [True] * 10
    assert spawned_sim.stats()["peak_in_flight"] <= 3


def test_streaming_result_types(llm):
    agent = Agent(role="Researcher", goal="g", backstory="b", llm=llm)
    crew = Crew(
        agents=[agent],
        tasks=[Task(description="Research {topic}", expected_output="x", agent=agent)],
        stream=True,
    )
    assert isinstance(crew.kickoff(inputs={"topic": "x"}), CrewStreamingOutput)
