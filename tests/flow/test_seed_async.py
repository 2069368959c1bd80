"""The Flow code blocks of the "Native Async Support" tutorial (seed 003), against the simulator.

The blocks are kept as written, with the import line changed to fastcrew; the agents keep
``llm="gpt-4o-mini"`` (``OPENAI_BASE_URL`` points it at a simulator that answers in 200 ms).
``flow.kickoff()`` runs its own event loop, so a test calls it in a thread while the
simulator serves from the test's loop. The crew-only blocks of the tutorial are run in
tests/runtime/test_seeds.py. Concurrency is read from the simulator's peak-in-flight counter.
"""

from __future__ import annotations

import asyncio

import pytest

from fastcrew import InputError

from .conftest import notes


def test_async_flow_methods(capsys):
    import asyncio

    from fastcrew.flow.flow import Flow, listen, start

    class AsyncFlow(Flow):
        @start()
        async def fetch_data(self):
            print("⏳ Fetching data (non-blocking)...")
            await asyncio.sleep(1)  # Simulate async I/O
            self.state["data"] = "Fetched data"
            print("✅ Data fetched")
            return self.state["data"]

        @listen(fetch_data)
        async def process_data(self, data):
            print(f"⚙️ Processing: {data}")
            await asyncio.sleep(0.5)
            return f"Processed: {data}"

    flow = AsyncFlow()
    result = flow.kickoff()
    print(result)

    assert capsys.readouterr().out.splitlines() == [
        "⏳ Fetching data (non-blocking)...",
        "✅ Data fetched",
        "⚙️ Processing: Fetched data",
        "Processed: Fetched data",
    ]
    assert flow.state["data"] == "Fetched data"
    assert isinstance(flow.state["id"], str)


def _parallel_research_flow():
    from pydantic import BaseModel

    from fastcrew import Agent, Crew, Process, Task
    from fastcrew.flow.flow import Flow, and_, listen, start

    class PipelineState(BaseModel):
        market_data: str = ""
        competitor_data: str = ""
        report: str = ""

    class ParallelResearchFlow(Flow[PipelineState]):
        @start()
        async def research_market(self):
            """Run market research crew asynchronously."""
            crew = self._build_crew("market analysis")
            result = await crew.akickoff(inputs={"focus": "market trends"})
            self.state.market_data = result.raw
            print(f"📊 Market research: {len(result.raw)} chars")

        @start()
        async def research_competitors(self):
            """Run competitor research crew asynchronously."""
            crew = self._build_crew("competitor analysis")
            result = await crew.akickoff(inputs={"focus": "competitor landscape"})
            self.state.competitor_data = result.raw
            print(f"🔍 Competitor research: {len(result.raw)} chars")

        @listen(and_(research_market, research_competitors))
        async def synthesize(self):
            """Both research streams complete — synthesize report."""
            print("📋 Synthesizing report from both research streams...")
            crew = self._build_crew("report synthesis")
            result = await crew.akickoff(
                inputs={
                    "market": self.state.market_data[:300],
                    "competitors": self.state.competitor_data[:300],
                }
            )
            self.state.report = result.raw
            print(f"✅ Report: {len(result.raw.split())} words")

        def _build_crew(self, focus: str) -> Crew:
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

    return ParallelResearchFlow, PipelineState


async def test_parallel_research_flow_as_written(openai_env, capsys):
    """As written, the synthesis crew gets no ``focus`` input: fastcrew names the gap, and
    the method it happened in, after both research crews ran side by side."""
    ParallelResearchFlow, _ = _parallel_research_flow()

    flow = ParallelResearchFlow()
    with pytest.raises(InputError, match=r"missing input .focus.") as caught:
        await asyncio.to_thread(flow.kickoff)

    assert "in flow method 'synthesize' of ParallelResearchFlow" in notes(caught.value)
    stats = openai_env.stats()
    assert stats["requests_total"] == 2
    assert stats["peak_in_flight"] == 2  # the two @start() crews ran concurrently
    assert "Analyze market analysis: market trends" in flow.state.market_data
    assert "Analyze competitor analysis: competitor landscape" in flow.state.competitor_data
    out = capsys.readouterr().out.splitlines()
    assert sorted(line.split()[0] for line in out[:2]) == ["📊", "🔍"]
    assert out[2] == "📋 Synthesizing report from both research streams..."


async def test_parallel_research_flow_with_the_focus_given(openai_env, capsys):
    from fastcrew.flow.flow import and_, listen

    ParallelResearchFlow, PipelineState = _parallel_research_flow()

    class Fixed(ParallelResearchFlow):
        @listen(and_("research_market", "research_competitors"))
        async def synthesize(self):
            crew = self._build_crew("report synthesis")
            result = await crew.akickoff(inputs={"focus": self.state.market_data[:300]})
            self.state.report = result.raw
            print(f"✅ Report: {len(result.raw.split())} words")

    flow = Fixed()
    assert await asyncio.to_thread(flow.kickoff) is None  # synthesize returns nothing
    assert isinstance(flow.state, PipelineState)
    assert "Analyze report synthesis: Simulated answer" in flow.state.report
    assert openai_env.stats()["requests_total"] == 3
    assert openai_env.stats()["peak_in_flight"] == 2
    assert capsys.readouterr().out.splitlines()[-1].startswith("✅ Report: ")


async def test_async_agents_direct(openai_env, capsys):
    from fastcrew import Agent
    from fastcrew.flow.flow import Flow, start

    class QuickClassifyFlow(Flow):
        @start()
        async def classify(self):
            agent = Agent(
                role="Classifier",
                goal="Classify input text",
                backstory="Classification expert.",
                llm="gpt-4o-mini",
            )

            # Already async — no Crew needed
            result = await agent.kickoff_async(
                query="Classify this as positive or negative: 'Great product!'"
            )
            print(f"Classification: {result}")
            return result

    result = await asyncio.to_thread(QuickClassifyFlow().kickoff)
    assert result.agent_role == "Classifier"
    assert "Great product!" in result.raw
    assert capsys.readouterr().out.startswith("Classification: ")


async def test_hands_on_exercise_solution(openai_env, capsys):
    import time

    from pydantic import BaseModel

    from fastcrew import Agent, Crew, Process, Task
    from fastcrew.flow.flow import Flow, and_, listen, start

    class ParallelState(BaseModel):
        result_a: str = ""
        result_b: str = ""

    class ParallelFlow(Flow[ParallelState]):
        @start()
        async def crew_a(self):
            t = time.time()
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
            self.state.result_a = result.raw
            print(f"📊 Crew A: {len(result.raw.split())} words ({time.time() - t:.1f}s)")

        @start()
        async def crew_b(self):
            t = time.time()
            agent = Agent(
                role="Tech Analyst",
                goal="Analyze technology trends",
                backstory="Expert tech analyst.",
                llm="gpt-4o-mini",
            )
            task = Task(
                description="Write a 100-word summary of AI technology trends",
                expected_output="A concise tech summary",
                agent=agent,
            )
            crew = Crew(agents=[agent], tasks=[task], process=Process.sequential)
            result = await crew.akickoff()
            self.state.result_b = result.raw
            print(f"🔍 Crew B: {len(result.raw.split())} words ({time.time() - t:.1f}s)")

        @listen(and_(crew_a, crew_b))
        def combine(self):
            words_a = len(self.state.result_a.split())
            words_b = len(self.state.result_b.split())
            print(f"📋 Combined: {words_a + words_b} words total")

    def main() -> ParallelFlow:
        t_start = time.time()
        flow = ParallelFlow()
        flow.kickoff()
        print(f"Total time: {time.time() - t_start:.1f}s")
        return flow

    flow = await asyncio.to_thread(main)

    assert openai_env.stats()["peak_in_flight"] == 2  # parallel, not one after the other
    words = len(flow.state.result_a.split()) + len(flow.state.result_b.split())
    out = capsys.readouterr().out.splitlines()
    assert sorted(line.split()[1] for line in out[:2]) == ["Crew", "Crew"]
    assert out[2] == f"📋 Combined: {words} words total"
    assert out[3].startswith("Total time: ")
