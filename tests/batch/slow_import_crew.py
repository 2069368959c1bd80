"""A crew module whose import is slow in a known way, for tests/batch/test_startup.py.

At import it appends its process id to the file ``$FASTCREW_TEST_IMPORT_LOG`` (one line per
import), then imports the package ``$FASTCREW_TEST_HEAVY_PACKAGE`` from the folder
``$FASTCREW_TEST_HEAVY_PATH`` (the test makes it: many submodules, a known CPU burn).
"""

from __future__ import annotations

import importlib
import os
import sys

from fastcrew import LLM, Agent, Crew, Task

IMPORT_LOG_ENV = "FASTCREW_TEST_IMPORT_LOG"
HEAVY_PATH_ENV = "FASTCREW_TEST_HEAVY_PATH"
HEAVY_PACKAGE_ENV = "FASTCREW_TEST_HEAVY_PACKAGE"

with open(os.environ[IMPORT_LOG_ENV], "a") as _log:
    _log.write(f"{os.getpid()}\n")
sys.path.insert(0, os.environ[HEAVY_PATH_ENV])
importlib.import_module(os.environ[HEAVY_PACKAGE_ENV])


def make_crew() -> Crew:
    """One task, one LLM call per row (the simulator echoes ``Tell me about <topic>``)."""
    agent = Agent(
        role="Echo", goal="Answer about {topic}", backstory="A test agent.", llm=LLM("sim-model")
    )
    task = Task(
        name="answer",
        description="Tell me about {topic}",
        expected_output="One line.",
        agent=agent,
    )
    return Crew(agents=[agent], tasks=[task])
