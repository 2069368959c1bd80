"""Flows for the batch tests (loaded by spec in each worker process): the seed's shape — two
crews in parallel ``@start`` methods, joined with ``and_`` — with ``llm="gpt-4o-mini"`` as
users write it, so the LLM comes from the environment the worker sets up."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

from pydantic import BaseModel

from fastcrew import Agent, Crew, Task
from fastcrew.flow import Flow, and_, listen, start

FAIL_TOPIC = "boom"
"""A row with this topic fails in ``combine``."""


class RowState(BaseModel):
    topic: str
    summary: str = ""
    angle: str = ""


def _crew(description: str) -> Crew:
    agent = Agent(role="Writer", goal="Write", backstory="Terse.", llm="gpt-4o-mini")
    task = Task(description=description, expected_output="One line.", agent=agent)
    return Crew(agents=[agent], tasks=[task])


class RowFlow(Flow[RowState]):
    @start()
    async def summarise(self) -> None:
        out = await _crew("Summarise {topic}").akickoff({"topic": self.state.topic})
        self.state.summary = out.raw

    @start()
    async def find_angle(self) -> None:
        out = await _crew("An angle on {topic}").akickoff({"topic": self.state.topic})
        self.state.angle = out.raw

    @listen(and_(summarise, find_angle))
    def combine(self) -> dict[str, object]:
        if self.state.topic == FAIL_TOPIC:
            raise ValueError(f"cannot combine {FAIL_TOPIC!r}")
        return {"topic": self.state.topic, "words": len(self.state.summary.split())}


not_a_flow = 42


class SyncRowFlow(Flow[RowState]):
    """Plain ``def`` methods calling the sync ``crew.kickoff()``: each runs its own event loop
    in a thread, whose limiter must still lease from the worker's global budget."""

    @start()
    def summarise(self) -> None:
        self.state.summary = _crew("Summarise {topic}").kickoff({"topic": self.state.topic}).raw

    @start()
    def find_angle(self) -> None:
        self.state.angle = _crew("An angle on {topic}").kickoff({"topic": self.state.topic}).raw

    @listen(and_(summarise, find_angle))
    def combine(self) -> dict[str, object]:
        return {"topic": self.state.topic, "words": len(self.state.summary.split())}


class HugeIntFlow(Flow[dict]):
    """Returns an int JSON (orjson) cannot hold: the row must still get its line."""

    @start()
    async def compute(self) -> int:
        return 2**70


HOLD_ENV = "FASTCREW_TEST_HOLD_DIR"
"""A directory: the first worker process to finish an LLM call there becomes the *holder*
(``owner`` holds its pid); every row of the holder then waits forever after its LLM call,
each announcing itself as ``held-<topic>``. Other processes run rows normally."""


def _holds(hold_dir: str, topic: str) -> bool:
    """Whether this process is the holder (the first to get here claims it)."""
    owner = Path(hold_dir, "owner")
    with contextlib.suppress(FileExistsError):
        fd = os.open(owner, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
    if owner.read_text() != str(os.getpid()):
        return False
    Path(hold_dir, f"held-{topic}").touch()
    return True


class HoldingFlow(Flow[RowState]):
    """One LLM call per row; in the holding process the row then never finishes (until the
    process is killed), so the rows it has started and paid for are known exactly."""

    @start()
    async def answer(self) -> dict[str, object]:
        out = await _crew("Summarise {topic}").akickoff({"topic": self.state.topic})
        hold_dir = os.environ.get(HOLD_ENV)
        if hold_dir and _holds(hold_dir, self.state.topic):
            await asyncio.Event().wait()
        return {"topic": self.state.topic, "words": len(out.raw.split())}
