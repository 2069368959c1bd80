"""A four-step persisted flow, run as a real process by test_persistence.py.

``python persist_child.py DB STATE_ID MARKERS`` kicks off :class:`FourSteps` with
``inputs={"id": STATE_ID}`` and prints the result and state as JSON. Every step appends its
name to the MARKERS file when it starts and asks the simulator at ``$SIM_BASE_URL`` one
question. With ``$BLOCK_AT=step3`` the third step writes ``blocked`` and waits forever (the
test kills the process there).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

from pydantic import BaseModel

from fastcrew import LLM
from fastcrew.flow import Flow, SQLiteFlowPersistence, listen, persist, start
from fastcrew.limits import RateLimit, RetryPolicy

DB, STATE_ID, MARKERS = sys.argv[1:4]


def mark(text: str) -> None:
    fd = os.open(MARKERS, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, f"{text}\n".encode())
    finally:
        os.close(fd)


class Steps(BaseModel):
    topic: str = "tides"
    answers: list[str] = []


@persist(SQLiteFlowPersistence(DB))
class FourSteps(Flow[Steps]):
    llm = LLM(
        "openai/sim-model",
        base_url=os.environ["SIM_BASE_URL"],
        retry=RetryPolicy(max_attempts=1),
        rate_limit=RateLimit(rpm=None, tpm=None),
    )

    def prompt(self, step: str) -> list[dict[str, str]]:
        mark(step)
        return [{"role": "user", "content": f"{step} on {self.state.topic}"}]

    async def ask(self, step: str) -> str:
        messages = self.prompt(step)
        if os.environ.get("BLOCK_AT") == step:
            mark("blocked")
            await asyncio.Event().wait()
        resp = await self.llm.achat(messages)
        self.state.answers.append(f"{step}: {resp.content}")
        return step

    @start()
    async def step1(self) -> str:
        return await self.ask("step1")

    @listen(step1)
    def step2(self, previous: str) -> str:  # a sync method: runs in a thread
        resp = self.llm.chat(self.prompt("step2"))
        self.state.answers.append(f"step2: {resp.content}")
        return "step2"

    @listen(step2)
    async def step3(self, previous: str) -> str:
        return await self.ask("step3")

    @listen(step3)
    async def step4(self) -> dict[str, object]:
        await self.ask("step4")
        return {"steps": len(self.state.answers)}


if __name__ == "__main__":
    flow = FourSteps()
    result = flow.kickoff(inputs={"id": STATE_ID})
    print(json.dumps({"result": result, "state": flow.state_json()}))
