"""A ``@persist`` flow for the batch resume test (loaded by spec in each worker process):
four sequential steps, one LLM call each. With ``$FASTCREW_TEST_BLOCK`` set to a file, the
rows of even topics write ``blocked`` there at step 3 and wait forever (the test kills the
run then)."""

from __future__ import annotations

import asyncio
import os

from pydantic import BaseModel

from fastcrew import LLM
from fastcrew.flow import Flow, listen, persist, start

BLOCK_ENV = "FASTCREW_TEST_BLOCK"


class Progress(BaseModel):
    topic: str
    answers: list[str] = []


@persist()  # the default store: a batch run saves rows to its own store instead
class FourStepFlow(Flow[Progress]):
    async def ask(self, step: str) -> str:
        blocked = os.environ.get(BLOCK_ENV)
        if blocked and step == "step3" and int(self.state.topic.split("-")[1]) % 2 == 0:
            fd = os.open(blocked, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.write(fd, f"{self.state.topic}\n".encode())
            os.close(fd)
            await asyncio.Event().wait()
        resp = await LLM("gpt-4o-mini").achat(
            [{"role": "user", "content": f"Tell me about {self.state.topic} ({step})"}]
        )
        self.state.answers.append(resp.content)
        return step

    @start()
    async def step1(self) -> str:
        return await self.ask("step1")

    @listen(step1)
    async def step2(self) -> str:
        return await self.ask("step2")

    @listen(step2)
    async def step3(self) -> str:
        return await self.ask("step3")

    @listen(step3)
    async def step4(self) -> dict[str, object]:
        await self.ask("step4")
        return {"topic": self.state.topic, "steps": len(self.state.answers)}
