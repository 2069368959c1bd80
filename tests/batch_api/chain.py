"""A fake row source for :class:`BatchRounds`: ``rows`` rows of ``steps`` chat calls each,
every call's user message carrying the previous answer (so step k+1 exists only once step k
is answered, as in a crew). Run in-process, or as a script (the kill -9 tests)::

    python chain.py BASE_URL BASE ROWS STEPS OUT [DISTINCT]

writes ``{"answers": {row: last answer}, "summary": {...}}`` to OUT and exits 0.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from fastcrew._json import dumps, loads
from fastcrew.batch.supervisor.batchapi import BatchRounds, RoundSettings
from fastcrew.cache import request_key
from fastcrew.llm.batch_api import BatchAPI

MODEL = "gpt-4o-mini"
FAST = RoundSettings(idle=0.5, poll=0.02, max_poll=0.1)


async def run_chain(
    base_url: str,
    base: str,
    rows: int,
    steps: int,
    *,
    distinct: int | None = None,
    settings: RoundSettings = FAST,
    limit_s: float = 60.0,
) -> tuple[dict[int, str], dict[str, Any]]:
    """Run the rows to their last step; their last answers (or ``ERROR <status>``) and the
    rounds' summary. ``distinct``: rows ``i`` and ``i + distinct`` ask the same things."""
    loop = asyncio.get_running_loop()
    endpoint = base_url + "/chat/completions"
    step = [0] * rows
    last = [""] * rows
    waiting: dict[bytes, list[int]] = {}
    finished = asyncio.Event()
    left = [rows]

    def ask(i: int) -> None:
        topic = i % distinct if distinct else i
        text = f"row {topic} step {step[i]}: {last[i][:60]}"
        body = {"model": MODEL, "messages": [{"role": "user", "content": text}]}
        key = request_key(endpoint, body)
        waiting.setdefault(key, []).append(i)
        rounds.defer("worker", key, MODEL, dumps(body))

    def send(_: Any, answers: list[tuple[bytes, int, bytes]]) -> None:
        for key, status, body in answers:
            for i in waiting.pop(key, []):
                if status >= 300:
                    last[i] = f"ERROR {status}"
                    step[i] = steps
                else:
                    last[i] = loads(body)["choices"][0]["message"]["content"]
                    step[i] += 1
                if step[i] >= steps:
                    left[0] -= 1
                    if not left[0]:
                        finished.set()
                else:
                    loop.call_soon(ask, i)

    rounds = BatchRounds(
        BatchAPI(base_url, "sk-test"), base, settings, send=send, active_rows=lambda: left[0]
    )
    task = loop.create_task(rounds.run(tick=0.01))
    try:
        for i in range(rows):
            loop.call_soon(ask, i)
        async with asyncio.timeout(limit_s):
            await finished.wait()
        summary = rounds.summary()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        rounds.close()
    return dict(enumerate(last)), summary


def main() -> None:
    base_url, base, rows, steps, out = sys.argv[1:6]
    distinct = int(sys.argv[6]) if len(sys.argv) > 6 else None
    answers, summary = asyncio.run(
        run_chain(base_url, base, int(rows), int(steps), distinct=distinct)
    )
    with open(out, "w") as file:
        json.dump({"answers": answers, "summary": summary}, file)


if __name__ == "__main__":
    main()
