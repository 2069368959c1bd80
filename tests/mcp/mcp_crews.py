"""A crew module for ``fastcrew batch`` (loaded by spec in each worker): its agent has one
stdio MCP server, filtered to the ``pid`` tool, started with ``$MCP_TEST_PID_DIR``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from fastcrew import LLM, Agent, Crew, Task
from fastcrew.mcp import MCPServerStdio, create_static_tool_filter

SERVER = str(Path(__file__).with_name("servers") / "basic.py")


def make_crew() -> Crew:
    server = MCPServerStdio(
        command=sys.executable,
        args=[SERVER],
        env={"MCP_TEST_PID_DIR": os.environ["MCP_TEST_PID_DIR"]},
        tool_filter=create_static_tool_filter(allowed_tool_names=["pid"]),
    )
    agent = Agent(
        role="Echo",
        goal="Answer about {topic}",
        backstory="A test agent.",
        llm=LLM("sim-model"),
        mcps=[server],
    )
    task = Task(description="Tell me about {topic}", expected_output="One line.", agent=agent)
    return Crew(agents=[agent], tasks=[task])
