"""CrewAI tool objects, left as CrewAI users write them, and one-tool crews over them.

Imported by the tests and, by spec, by ``fastcrew batch`` workers; the crews read where
their tools point from environment variables (which the workers inherit). Every crew has
one agent with one tool, so the simulator (one tool round) calls exactly that tool.
"""

from __future__ import annotations

import os
from typing import Any

from crewai.tools import BaseTool as CrewAIBaseTool
from crewai.tools import tool as crewai_tool
from crewai_tools import DirectoryReadTool, FileReadTool, ScrapeWebsiteTool, SerperDevTool
from pydantic import BaseModel, Field

from fastcrew import LLM, Agent, Crew, Task

FILE_ENV = "FASTCREW_TEST_FILE"
DIR_ENV = "FASTCREW_TEST_DIR"
HTTP_ENV = "FASTCREW_TEST_HTTP"
PATH_CHARS = 60
"""The simulator's first free-form string argument: the task's first 60 characters."""
FACT = "the harbour tide peaks at 4.2 metres"
"""What the test file and the test page say."""


class ForecastInput(BaseModel):
    city: str = Field(description="The city to forecast")
    days: int = Field(default=1, ge=1, le=7, description="How many days")


class ForecastTool(CrewAIBaseTool):
    """A user's own CrewAI tool with an ``args_schema``, left as written."""

    name: str = "Forecast"
    description: str = "The weather forecast of a city."
    args_schema: type[BaseModel] = ForecastInput
    calls: list[dict[str, Any]] = Field(default_factory=list, exclude=True)

    def _run(self, city: str, days: int = 1) -> str:
        self.calls.append({"city": city, "days": days})
        return f"forecast: sunny for {days} day(s) in {city[:30]}"


@crewai_tool("Word Counter")
def word_counter(text: str) -> str:
    """Counts the words in a text."""
    return f"word count: {len(text.split())} words"


@crewai_tool("Final Verdict", result_as_answer=True)
async def final_verdict(text: str) -> str:
    """Gives the final verdict on a text."""
    return f"VERDICT: approved ({len(text)} characters)"


def one_tool_crew(tool: Any, *, description: str = "Tell me about {topic}") -> Crew:
    """One agent with one tool, one task about ``{topic}``."""
    agent = Agent(
        role="Researcher",
        goal="Answer about {topic}",
        backstory="Uses the tool it has.",
        llm=LLM("sim-model"),
        tools=[tool],
    )
    task = Task(description=description, expected_output="One line.", agent=agent)
    return Crew(agents=[agent], tasks=[task])


def file_crew() -> Crew:
    """The task starts with the file's path (:data:`PATH_CHARS` long): the simulator's first
    string argument is the start of the task, so the model asks for exactly that file."""
    path = os.environ[FILE_ENV]
    return one_tool_crew(
        FileReadTool(file_path=path), description=f"{path}\nRead it and tell me about {{topic}}"
    )


def directory_crew() -> Crew:
    return one_tool_crew(DirectoryReadTool(directory=os.environ[DIR_ENV]))


def scrape_crew() -> Crew:
    return one_tool_crew(ScrapeWebsiteTool(website_url=f"{os.environ[HTTP_ENV]}/page"))


def serper_crew() -> Crew:
    return one_tool_crew(SerperDevTool(base_url=os.environ[HTTP_ENV], n_results=2))


def forecast_crew() -> Crew:
    return one_tool_crew(ForecastTool())


def counter_crew() -> Crew:
    return one_tool_crew(word_counter)


def verdict_crew() -> Crew:
    return one_tool_crew(final_verdict)
