"""A small research crew: a researcher gathers facts on ``{topic}``, a writer turns them into
a structured brief (``output_json``: each result's ``json_dict`` is the brief).

``make_crew()`` takes no arguments, so a batch can build it in each worker. The agents' LLM
is resolved the way CrewAI does it: ``$MODEL`` / ``$OPENAI_MODEL_NAME`` (default
``gpt-4o-mini``) with ``$OPENAI_BASE_URL`` and ``$OPENAI_API_KEY``; point ``OPENAI_BASE_URL``
at ``fastcrew sim`` to run it offline. Run this file to try it on a built-in simulator::

    python examples/research_crew.py
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from fastcrew import LLM, Agent, Crew, Process, Task


class Brief(BaseModel):
    """The crew's answer for one topic."""

    topic: str
    summary: str = Field(description="Three sentences for a non-specialist reader.")
    key_points: list[str] = Field(description="Three to five short facts.")


def make_crew(llm: LLM | str | None = None) -> Crew:
    """The research crew; ``llm`` defaults to the environment (see the module docstring)."""
    researcher = Agent(
        role="Research analyst",
        goal="Find the most relevant, verifiable facts about {topic}",
        backstory="You read primary sources and report what is known, and what is not.",
        llm=llm,
    )
    writer = Agent(
        role="Science writer",
        goal="Explain {topic} clearly to a non-specialist reader",
        backstory="You turn research notes into short, accurate briefs.",
        llm=researcher.llm if llm is None else llm,
    )
    research = Task(
        name="research",
        description="Research {topic}: the current state, the open problems, the main players.",
        expected_output="Ten bullet points of facts, each with its source.",
        agent=researcher,
    )
    brief = Task(
        name="brief",
        description="Write a brief on {topic} from the research notes.",
        expected_output="A three-sentence summary and three to five key points.",
        agent=writer,
        output_json=Brief,
    )
    return Crew(agents=[researcher, writer], tasks=[research, brief], process=Process.sequential)


if __name__ == "__main__":
    import asyncio
    import json
    from pathlib import Path

    from fastcrew.sim import serve

    async def main() -> None:
        rows = [
            json.loads(line)
            for line in (Path(__file__).with_name("inputs.jsonl")).read_text().splitlines()[:3]
        ]
        async with serve(latency_ms=200) as sim:
            crew = make_crew(LLM("sim", base_url=sim.base_url))
            for row, out in zip(rows, await crew.akickoff_for_each(rows), strict=True):
                print(row["id"], out.json_dict["summary"][:70], out.token_usage.total_tokens)

    asyncio.run(main())
